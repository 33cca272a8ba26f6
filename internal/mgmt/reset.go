package mgmt

import (
	"io"
	"net"
	"net/http"
	"net/netip"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/awswire"
)

// ResetPath wipes all state when the server runs with --allow-reset, for test suites that share
// one server between tests (as moto's /moto-api/reset and LocalStack's state reset are used).
const ResetPath = "/_tollgate/reset"

// serveReset answers POST /_tollgate/reset. A caller on loopback needs no signature (a test
// harness on the same machine); any other caller needs a valid management signature, like every
// write. The reset is audited as operation Reset.
func (s *Server) serveReset(w http.ResponseWriter, hr *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(hr.Body, MaxJSONBody))
	region := ""
	if !fromLoopback(hr.RemoteAddr) || hr.Header.Get("Authorization") != "" {
		var err error
		if region, err = s.auth.Authenticate(hr, body); err != nil {
			awswire.WriteError(w, hr, err)
			return
		}
	}
	if hr.Method != http.MethodPost {
		awswire.WriteError(w, hr, apigw.NotFound("Invalid method for %s: use POST", ResetPath))
		return
	}
	aw := &auditWriter{ResponseWriter: w}
	defer audit(hr, "Reset", region, nil, aw)
	if err := s.Reset(hr.Context()); err != nil {
		awswire.WriteError(aw, hr, err)
		return
	}
	aw.Header().Set("Content-Type", "application/json")
	aw.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(aw, `{"reset":true}`)
}

// fromLoopback reports whether a request's TCP peer (never a forwarded header) is on loopback.
func fromLoopback(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		return false
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}
