package storetest

import "github.com/tollgate/tollgate/internal/seal"

// Keys is the master keyring the tests open stores with: one fixed key, so every store a test
// opens on the same database (a reopen, a second node) reads what the first one sealed.
var Keys = func() *seal.Keyring {
	kr, err := seal.New([]byte("tollgate-tests-master-key-32byte"))
	if err != nil {
		panic(err)
	}
	return kr
}()
