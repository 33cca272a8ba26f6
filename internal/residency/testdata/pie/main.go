// Command pie releases its executable's pages (residency.Release), then uses what a
// position-independent build relocates at start-up: interface method tables, type
// descriptors, maps, formatting. TestReleaseInPIEBuild builds it with -buildmode=pie.
package main

import (
	"errors"
	"fmt"
	"os"
	"sort"

	"github.com/tollgate/tollgate/internal/residency"
)

type shape interface{ area() float64 }

type square struct{ side float64 }

func (s square) area() float64 { return s.side * s.side }

func main() {
	n, err := residency.Release()
	if err != nil {
		fmt.Println("release:", err)
		os.Exit(1)
	}
	m := map[string]shape{}
	for i := range 100 {
		m[fmt.Sprintf("s%03d", i)] = square{float64(i)}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var total float64
	for _, k := range keys {
		total += m[k].area()
	}
	err = fmt.Errorf("wrapped: %w", os.ErrNotExist)
	if !errors.Is(err, os.ErrNotExist) || total != 328350 {
		fmt.Println("wrong result:", total, err)
		os.Exit(1)
	}
	fmt.Printf("released %d MB\n", n>>20)
	fmt.Println("ok")
}
