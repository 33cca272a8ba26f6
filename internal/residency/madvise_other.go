//go:build !linux

package residency

import "errors"

func dontNeed(uintptr, uintptr) error {
	return errors.New("not supported on this system")
}
