package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/awswire"
	"github.com/tollgate/tollgate/internal/config"
	"github.com/tollgate/tollgate/internal/credentials"
	"github.com/tollgate/tollgate/internal/dataplane"
	"github.com/tollgate/tollgate/internal/sigv4"
)

// invokeVerifier checks AWS_IAM methods: SigV4 for the service execute-api with the invoke
// credentials, scoped to the API's region, answered with AWS's SigV4 error types and texts.
type invokeVerifier struct{ v *sigv4.Verifier }

func (iv invokeVerifier) VerifyInvoke(r *http.Request, body []byte, region string) *dataplane.GatewayError {
	got, err := iv.v.Authenticate(r, body)
	if err == nil && got != region {
		err = sigv4.ErrWrongRegion(got)
	}
	if err == nil {
		return nil
	}
	var ae *apigw.Error
	if !errors.As(err, &ae) {
		return dataplane.ErrInternal
	}
	t := awswire.TypeOf(ae.Kind)
	return dataplane.NewGatewayError(t.Status, t.Code, ae.Message)
}

// loadCredentials builds the live credential set: the environment's pair (or the loopback
// default), valid for both uses, and the --credentials-file pairs.
func loadCredentials(cfg config.Config, log *slog.Logger) (*credentials.Source, error) {
	if cfg.CredentialsFile != "" {
		if loose, err := credentials.LooseMode(cfg.CredentialsFile); err == nil && loose {
			log.Warn("the credentials file can be read by other users; make it 0600", "path", cfg.CredentialsFile)
		}
	}
	src, err := credentials.NewSource(cfg.CredentialsFile, cfg.AccessKeyID, cfg.SecretAccessKey)
	if err != nil {
		return nil, err
	}
	log.Info("credentials loaded", "pairs", src.Set().Len(), "file", cfg.CredentialsFile)
	return src, nil
}

// reloadOnHangup re-reads the credentials file on SIGHUP until ctx ends; a file that does not
// load keeps the pairs in force.
// hangupReloader is one thing SIGHUP reloads; a nil function is skipped (not configured).
type hangupReloader struct {
	what   string
	reload func() error
}

// reloadOnHangup reloads the credentials file, the TLS certificate and the access-log file on
// SIGHUP. A failed reload keeps what was in force and says so.
func reloadOnHangup(ctx context.Context, log *slog.Logger, rs ...hangupReloader) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			for _, r := range rs {
				if r.reload == nil {
					continue
				}
				if err := r.reload(); err != nil {
					log.Error(r.what+" not reloaded; the previous one stays in force", "err", err)
					continue
				}
				log.Info(r.what + " reloaded")
			}
		}
	}
}
