package control

import (
	"context"
	"errors"
	"regexp"
	"slices"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/apigw/patch"
	"github.com/tollgate/tollgate/internal/store"
)

// FeatureUsagePlans is the only account feature; every account created after 2016-08-11 has it
// and it cannot be removed (spec §2.6, §3.19).
const FeatureUsagePlans = "UsagePlans"

// Account messages (spec §11).
const (
	msgAccountRoleARN        = "The role ARN is not well formed"
	msgAccountNoDisable      = "Usage Plans cannot be disabled once enabled"
	msgAccountInvalidFeature = "Invalid feature specified: %s. Must be one of: [UsagePlans]" // [R]
)

// accountPaths is the list printed for a bad UpdateAccount path ([R]: AWS's text unknown).
var accountPaths = []string{"/cloudwatchRoleArn", "/features"}

// roleARN is the shape of an IAM role ARN: arn:<partition>:iam::<12 digits>:role/<path/name>.
// AWS also checks the role's trust and permissions (spec §3.19); Tollgate only checks the shape.
var roleARN = regexp.MustCompile(`^arn:aws(-[a-z]+)*:iam::[0-9]{12}:role/([A-Za-z0-9+=,.@_-]+/)*[A-Za-z0-9+=,.@_-]+$`)

// GetAccount returns the region's account. It always exists: before the first UpdateAccount it is
// the default one (usage plans enabled, no CloudWatch role). throttleSettings and apiKeyVersion
// always come from the operator's configuration, never from the store.
func (s *Service) GetAccount(ctx context.Context, region string) (*apigw.Account, error) {
	var a *apigw.Account
	err := s.view(ctx, region, func(tx store.Tx) error {
		var err error
		a, err = loadAccount(tx)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.accountView(a), nil
}

// UpdateAccount applies patch operations (spec §3.19) to a copy of the account, in order, and
// stores it only if all of them succeed and something changed; [] returns the account unchanged
// (Terraform sends it).
func (s *Service) UpdateAccount(ctx context.Context, region string, ops []patch.Op) (*apigw.Account, error) {
	var out *apigw.Account
	err := s.update(ctx, region, func(tx store.Tx) error {
		a, err := loadAccount(tx)
		if err != nil {
			return err
		}
		c := *a
		c.Features = slices.Clone(a.Features)
		for _, op := range ops {
			if err := applyAccountOp(&c, op); err != nil {
				return err
			}
		}
		out = &c
		if c.CloudwatchRoleArn == a.CloudwatchRoleArn && slices.Equal(c.Features, a.Features) {
			return nil
		}
		return tx.PutAccount(&c)
	})
	if err != nil {
		return nil, err
	}
	return s.accountView(out), nil
}

// loadAccount reads the stored account, or the default one (Rev 0, so a Put inserts it).
func loadAccount(tx store.Tx) (*apigw.Account, error) {
	a, err := tx.GetAccount()
	if errors.Is(err, store.ErrNotFound) {
		return &apigw.Account{Features: []string{FeatureUsagePlans}}, nil
	}
	if err != nil {
		return nil, err
	}
	if !slices.Contains(a.Features, FeatureUsagePlans) {
		a.Features = append(a.Features, FeatureUsagePlans)
	}
	return a, nil
}

// accountView overlays the configured, read-only settings on a stored account.
func (s *Service) accountView(a *apigw.Account) *apigw.Account {
	c := *a
	c.Features = slices.Clone(a.Features)
	c.Throttle = s.cfg.AccountThrottle
	c.ApiKeyVersion = s.cfg.ApiKeyVersion
	return &c
}

// applyAccountOp is UpdateAccount's patch table.
func applyAccountOp(a *apigw.Account, op patch.Op) error {
	switch {
	case op.Path == "/cloudwatchRoleArn" && op.Op == "replace":
		// No value (Terraform ≥ 5 on reset) or "" clears the role.
		v := op.V()
		if v != "" && !roleARN.MatchString(v) {
			return apigw.BadRequest(msgAccountRoleARN)
		}
		a.CloudwatchRoleArn = v
	case op.Path == "/features" && (op.Op == "add" || op.Op == "remove"):
		if op.V() != FeatureUsagePlans {
			return apigw.BadRequest(msgAccountInvalidFeature, op.V())
		}
		if op.Op == "remove" {
			return apigw.BadRequest(msgAccountNoDisable)
		}
		// add is idempotent: usage plans are always enabled.
	default:
		return patch.InvalidPath(op.Path, op.Op, accountPaths)
	}
	return nil
}
