package e2e

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"

	"github.com/tollgate/tollgate/test/harness"
)

// writeCert writes a self-signed certificate for 127.0.0.1 with the given common name to
// cert.pem and key.pem in dir, and returns it.
func writeCert(t *testing.T, dir, cn string) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	// Written to temporary names and renamed, as a certificate manager replaces them.
	for name, block := range map[string]*pem.Block{"cert.pem": {Type: "CERTIFICATE", Bytes: der}, "key.pem": {Type: "EC PRIVATE KEY", Bytes: kder}} {
		tmp := filepath.Join(dir, name+".tmp")
		if err := os.WriteFile(tmp, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	cert, _ := x509.ParseCertificate(der)
	return cert
}

// TestTLS: with --tls-cert-file and --tls-key-file the main listener and the gateway listener
// serve HTTPS on either engine (TLS 1.2 at least, ALPN http/1.1), the AWS SDK drives the
// management API over it, the backend hears X-Forwarded-Proto https, a bare-LF head still gets
// its 400 inside TLS, and SIGHUP swaps the certificate for new connections without dropping an
// open one.
func TestTLS(t *testing.T) {
	for _, engine := range []string{"fasthttp", "nethttp"} {
		t.Run(engine, func(t *testing.T) {
			dir := t.TempDir()
			first := writeCert(t, dir, "first")
			gwAddr := freePort(t)
			s := &server{harness.Start(t, harness.Options{Args: []string{"--engine", engine, "--gateway-addr", gwAddr,
				"--tls-cert-file", filepath.Join(dir, "cert.pem"), "--tls-key-file", filepath.Join(dir, "key.pem")}})}
			host := strings.TrimPrefix(s.Endpoint, "http://")
			s.Endpoint = "https://" + host
			roots := x509.NewCertPool()
			roots.AddCert(first)
			tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, ForceAttemptHTTP2: true}
			hc := &http.Client{Transport: tr}
			c := apigateway.New(apigateway.Options{Region: "us-east-1", BaseEndpoint: aws.String(s.Endpoint), HTTPClient: hc,
				Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""), RetryMaxAttempts: 1})
			g := buildGatewayAPI(t, c, "prod")
			_, _, key := planWithKey(t, c, g, apigateway.CreateUsagePlanInput{})

			// Plain HTTP on the TLS port is refused.
			if resp, err := http.Get("http://" + host + "/_tollgate/health"); err == nil {
				resp.Body.Close()
				if resp.StatusCode < 400 {
					t.Errorf("plain HTTP on the TLS listener = %d", resp.StatusCode)
				}
			}
			for _, base := range []string{s.Endpoint + "/restapis/" + g.ID + "/prod/_user_request_", "https://" + gwAddr + "/restapis/" + g.ID + "/prod/_user_request_"} {
				req, _ := http.NewRequest("GET", base+"/items/a", nil)
				req.Header.Set("x-api-key", key)
				resp, err := hc.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || resp.Proto != "HTTP/1.1" || resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 {
					t.Fatalf("GET %s over TLS = %d %s %+v", base, resp.StatusCode, resp.Proto, resp.TLS)
				}
				var echo map[string]string
				_ = json.Unmarshal(b, &echo)
				if echo["path"] != "/backend/a" {
					t.Errorf("backend answer %s", b)
				}
			}
			if got := g.lastProto.Load(); got == nil || *got != "https" {
				t.Errorf("backend X-Forwarded-Proto = %v, want https", got)
			}

			// A bare LF inside TLS: 400 from the guard.
			conn, err := tls.Dial("tcp", host, &tls.Config{RootCAs: roots})
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.WriteString(conn, "GET /_tollgate/health HTTP/1.1\nHost: x\n\n")
			line, _ := bufio.NewReader(conn).ReadString('\n')
			conn.Close()
			if !strings.HasPrefix(line, "HTTP/1.1 400") {
				t.Errorf("bare LF over TLS answered %q", line)
			}

			// Keep one connection open, then rotate the certificate.
			kept, err := tls.Dial("tcp", host, &tls.Config{RootCAs: roots})
			if err != nil {
				t.Fatal(err)
			}
			defer kept.Close()
			keptR := bufio.NewReader(kept)
			get := func() string {
				_, _ = io.WriteString(kept, "GET /_tollgate/health HTTP/1.1\r\nHost: x\r\n\r\n")
				resp, err := http.ReadResponse(keptR, nil)
				if err != nil {
					return err.Error()
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				return resp.Status
			}
			if st := get(); st != "200 OK" {
				t.Fatalf("kept connection: %s", st)
			}
			second := writeCert(t, dir, "second")
			if err := s.Signal(syscall.SIGHUP); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(10 * time.Second)
			for !strings.Contains(s.Log(), "TLS certificate reloaded") {
				if time.Now().After(deadline) {
					t.Fatal("no 'TLS certificate reloaded' in the log")
				}
				time.Sleep(20 * time.Millisecond)
			}
			roots.AddCert(second)
			nc, err := tls.Dial("tcp", host, &tls.Config{RootCAs: roots})
			if err != nil {
				t.Fatal(err)
			}
			if cn := nc.ConnectionState().PeerCertificates[0].Subject.CommonName; cn != "second" {
				t.Errorf("new connection after SIGHUP got certificate %q, want second", cn)
			}
			nc.Close()
			if st := get(); st != "200 OK" {
				t.Errorf("connection opened before the reload: %s", st)
			}
			if cn := kept.ConnectionState().PeerCertificates[0].Subject.CommonName; cn != "first" {
				t.Errorf("kept connection's certificate %q", cn)
			}
		})
	}
}
