package mgmt

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"sort"
	"strings"
)

// Every management write leaves an audit record at info: who (the access key id, which AWS
// itself records in CloudTrail and which is not a secret), what (the operation and the ids it
// names), the result (status) and the request id. Never a body, a key value or a signature.

// auditWriter records the status of a write and, for a successful one, the start of its
// response, to name the id of a created resource.
type auditWriter struct {
	http.ResponseWriter
	status int
	head   bytes.Buffer // up to auditHead bytes of a 2xx body
}

const auditHead = 64 << 10

func (w *auditWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *auditWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if w.status < 300 && w.head.Len() < auditHead {
		w.head.Write(b[:min(len(b), auditHead-w.head.Len())])
	}
	return w.ResponseWriter.Write(b)
}

// audit logs the record of one write.
func audit(r *http.Request, op, region string, params map[string]string, w *auditWriter) {
	attrs := []any{"operation", op, "access-key-id", accessKeyID(r), "region", region}
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		attrs = append(attrs, k, params[k])
	}
	if w.status < 300 && r.Method == http.MethodPost {
		var created struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(w.head.Bytes(), &created) == nil && created.ID != "" {
			attrs = append(attrs, "created-id", created.ID)
		}
	}
	attrs = append(attrs, "status", w.status, "request-id", w.Header().Get("X-Amzn-Requestid"))
	slog.Info("audit", attrs...)
}

// accessKeyID is the access key id of an authenticated request's SigV4 credential scope (the
// Authorization header's Credential=, or a presigned X-Amz-Credential), "" if none.
func accessKeyID(r *http.Request) string {
	cred := r.URL.Query().Get("X-Amz-Credential")
	if h := r.Header.Get("Authorization"); h != "" {
		if _, rest, ok := strings.Cut(h, "Credential="); ok {
			cred = rest
		}
	}
	id, _, _ := strings.Cut(cred, "/")
	return id
}
