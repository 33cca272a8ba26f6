//go:build !linux

package meter

import (
	"errors"
	"os"
)

// journalSupported: elsewhere the meter counts on the heap (Open reports errors.ErrUnsupported).
const journalSupported = false

func mapJournal(*os.File) (*journal, error) { return nil, errors.ErrUnsupported }

func (j *journal) grow() error { return errors.ErrUnsupported }

func (j *journal) close() error {
	if j.f != nil {
		return j.f.Close()
	}
	return nil
}
