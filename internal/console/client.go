package console

import (
	"bytes"
	"io"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
)

// inProcess is an HTTP client that hands requests to a handler in this process: the management
// API, reached without a socket.
type inProcess struct{ h http.Handler }

func (c inProcess) Do(r *http.Request) (*http.Response, error) {
	w := &recorder{header: http.Header{}, status: http.StatusOK}
	if r.Body == nil {
		r.Body = http.NoBody
	}
	r.RemoteAddr = "127.0.0.1:0"
	r.RequestURI = r.URL.RequestURI()
	c.h.ServeHTTP(w, r)
	return &http.Response{StatusCode: w.status, Status: http.StatusText(w.status), Header: w.header,
		Body: io.NopCloser(bytes.NewReader(w.body.Bytes())), ContentLength: int64(w.body.Len()), Request: r,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}, nil
}

type recorder struct {
	header http.Header
	status int
	wrote  bool
	body   bytes.Buffer
}

func (w *recorder) Header() http.Header { return w.header }
func (w *recorder) WriteHeader(s int) {
	if !w.wrote {
		w.status, w.wrote = s, true
	}
}
func (w *recorder) Write(b []byte) (int, error) {
	w.wrote = true
	return w.body.Write(b)
}

// client is an API Gateway client for one user and region, dispatched in process.
func (s *Server) client(sess *session) *apigateway.Client {
	return apigateway.New(apigateway.Options{
		Region:       sess.region,
		BaseEndpoint: aws.String("http://tollgate.console.internal"),
		Credentials:  credentials.NewStaticCredentialsProvider(sess.accessKeyID, sess.secret, ""),
		HTTPClient:   inProcess{s.api},
		// A console call is one attempt: the user sees the answer, as the CLI shows it.
		RetryMaxAttempts: 1,
	})
}
