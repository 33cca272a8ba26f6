// Package probe is what the bench's probes (fastprobe, gnetprobe, nbioprobe) share: their
// flags and the API keys they check x-api-key against, each with a request counter.
package probe

import (
	"bufio"
	"flag"
	"log"
	"os"
	"sync/atomic"
)

// Setup parses the probe's flags (-addr, default defaultAddr; -backend; -keys) and loads the
// keys; it exits on an unreadable key file. An empty key map means no key check.
func Setup(defaultAddr string) (addr, backend string, keys map[string]*atomic.Int64) {
	a := flag.String("addr", defaultAddr, "listen address")
	b := flag.String("backend", "127.0.0.1:8081", "backend host:port")
	keysFile := flag.String("keys", "", "file of API keys, one per line (empty: no key check)")
	flag.Parse()
	keys, err := loadKeys(*keysFile)
	if err != nil {
		log.Fatal(err)
	}
	return *a, *b, keys
}

func loadKeys(path string) (map[string]*atomic.Int64, error) {
	keys := map[string]*atomic.Int64{}
	if path == "" {
		return keys, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		keys[sc.Text()] = new(atomic.Int64)
	}
	return keys, sc.Err()
}
