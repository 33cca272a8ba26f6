package awswire

import "github.com/tollgate/tollgate/internal/apigw"

// Account is the Account shape (spec §2.6): cloudwatchRoleArn only once set; throttleSettings,
// features and apiKeyVersion always (GetAccount never 404s).
type Account struct {
	CloudwatchRoleArn string                  `json:"cloudwatchRoleArn,omitempty"`
	ThrottleSettings  AccountThrottleSettings `json:"throttleSettings"`
	Features          []string                `json:"features"`
	ApiKeyVersion     string                  `json:"apiKeyVersion,omitempty"`
}

// AccountThrottleSettings is ThrottleSettings of the account: both numbers always present,
// rateLimit with a fractional part (10000.0).
type AccountThrottleSettings struct {
	BurstLimit int64  `json:"burstLimit"`
	RateLimit  Double `json:"rateLimit"`
}

// NewAccount builds the wire form of the account.
func NewAccount(a *apigw.Account) Account {
	out := Account{
		CloudwatchRoleArn: a.CloudwatchRoleArn,
		ThrottleSettings:  AccountThrottleSettings{BurstLimit: a.Throttle.BurstLimit, RateLimit: Double(a.Throttle.RateLimit)},
		Features:          make([]string, len(a.Features)),
		ApiKeyVersion:     a.ApiKeyVersion,
	}
	copy(out.Features, a.Features)
	return out
}
