package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"
)

// stageName is the stage every benchmark API is deployed to; requests use the execute-api host
// form, so the path wrk sends is /bench/<anything>.
const stageName = "bench"

// tollgateSetup is how one Tollgate instance is configured through its management API.
type tollgateSetup struct {
	quotaLimit int32 // per key per day
}

var (
	// neverTrips: a throttle and a quota no key can reach in a few minutes, so every check runs and
	// every request is admitted and metered.
	neverTrips = tollgateSetup{quotaLimit: 2_000_000_000}
	// trips: one request per key per day, so after each key's first request every answer is a 429
	// Limit Exceeded — the cost of a rejection.
	trips = tollgateSetup{quotaLimit: 1}
)

// configureTollgate builds, with aws-sdk-go-v2 and SigV4 exactly as a user would, a REST API whose
// ANY /{proxy+} is an HTTP_PROXY integration to the backend (API key required), deploys it, creates
// a usage plan on the stage and imports the keys straight into the plan with ImportApiKeys. It
// returns the API id.
func configureTollgate(ctx context.Context, endpoint, backend string, keys []string, setup tollgateSetup) (string, error) {
	c := apigateway.New(apigateway.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(endpoint),
		Credentials:      credentials.NewStaticCredentialsProvider("test", "test", ""),
		RetryMaxAttempts: 1,
	})
	api, err := c.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("bench")})
	if err != nil {
		return "", fmt.Errorf("CreateRestApi: %w", err)
	}
	res, err := c.CreateResource(ctx, &apigateway.CreateResourceInput{RestApiId: api.Id, ParentId: api.RootResourceId, PathPart: aws.String("{proxy+}")})
	if err != nil {
		return "", fmt.Errorf("CreateResource: %w", err)
	}
	if _, err := c.PutMethod(ctx, &apigateway.PutMethodInput{RestApiId: api.Id, ResourceId: res.Id, HttpMethod: aws.String("ANY"),
		AuthorizationType: aws.String("NONE"), ApiKeyRequired: true,
		RequestParameters: map[string]bool{"method.request.path.proxy": true}}); err != nil {
		return "", fmt.Errorf("PutMethod: %w", err)
	}
	if _, err := c.PutIntegration(ctx, &apigateway.PutIntegrationInput{RestApiId: api.Id, ResourceId: res.Id, HttpMethod: aws.String("ANY"),
		Type: types.IntegrationTypeHttpProxy, IntegrationHttpMethod: aws.String("ANY"),
		Uri:               aws.String("http://" + backend + "/{proxy}"),
		RequestParameters: map[string]string{"integration.request.path.proxy": "method.request.path.proxy"}}); err != nil {
		return "", fmt.Errorf("PutIntegration: %w", err)
	}
	if _, err := c.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: api.Id, StageName: aws.String(stageName)}); err != nil {
		return "", fmt.Errorf("CreateDeployment: %w", err)
	}
	plan, err := c.CreateUsagePlan(ctx, &apigateway.CreateUsagePlanInput{
		Name:      aws.String("bench"),
		ApiStages: []types.ApiStage{{ApiId: api.Id, Stage: aws.String(stageName)}},
		Throttle:  &types.ThrottleSettings{RateLimit: 1_000_000, BurstLimit: 1_000_000},
		Quota:     &types.QuotaSettings{Limit: setup.quotaLimit, Period: types.QuotaPeriodTypeDay},
	})
	if err != nil {
		return "", fmt.Errorf("CreateUsagePlan: %w", err)
	}
	var csv strings.Builder
	csv.WriteString("Name,Key,Enabled,UsagePlanIds\n")
	for i, k := range keys {
		fmt.Fprintf(&csv, "bench-%d,%s,true,%s\n", i, k, *plan.Id)
	}
	start := time.Now()
	out, err := c.ImportApiKeys(ctx, &apigateway.ImportApiKeysInput{Body: []byte(csv.String()), Format: types.ApiKeysFormatCsv, FailOnWarnings: true})
	if err != nil {
		return "", fmt.Errorf("ImportApiKeys: %w", err)
	}
	if len(out.Ids) != len(keys) {
		return "", fmt.Errorf("ImportApiKeys imported %d keys of %d (warnings %v)", len(out.Ids), len(keys), out.Warnings)
	}
	fmt.Fprintf(logw, "bench: imported %d keys into plan %s in %s\n", len(keys), *plan.Id, time.Since(start).Round(time.Millisecond))
	return *api.Id, nil
}

// probe sends one GET with the given key (none when "") and returns the status code.
func probe(ctx context.Context, s *system, key string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url(), nil)
	if err != nil {
		return 0, err
	}
	if s.host != "" {
		req.Host = s.host
	}
	if key != "" {
		req.Header.Set("X-Api-Key", key)
	}
	resp, err := probeClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// probeClient keeps enough idle connections for prime's concurrency.
var probeClient = &http.Client{
	Transport: &http.Transport{MaxIdleConnsPerHost: 128, DisableCompression: true},
	Timeout:   10 * time.Second,
}

// checkSystem verifies a system answers as configured before it is measured, so a misconfigured
// one fails loudly instead of producing a fast row of errors: a valid key is admitted (for the
// quota-trip Tollgate: admitted once, then 429), and, where keys are checked, a wrong key gets 403.
// Tollgate applies management writes to the data plane asynchronously, so the first probe polls.
func checkSystem(ctx context.Context, s *system, keys []string, checksKeys bool) error {
	deadline := time.Now().Add(10 * time.Second)
	key := keys[0]
	var code int
	var err error
	for {
		code, err = probe(ctx, s, key)
		if err == nil && code == http.StatusOK || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil || code != http.StatusOK {
		return fmt.Errorf("%s: a valid key got %d (%v), want 200", s.name, code, err)
	}
	if s.rejects {
		if code, err = probe(ctx, s, key); err != nil || code != http.StatusTooManyRequests {
			return fmt.Errorf("%s: a key over its quota got %d (%v), want 429", s.name, code, err)
		}
	}
	if checksKeys {
		if code, err = probe(ctx, s, "not-a-benchmark-key-0000"); err != nil || code != http.StatusForbidden {
			return fmt.Errorf("%s: an unknown key got %d (%v), want 403", s.name, code, err)
		}
	}
	return nil
}

// prime sends one request with every key, conc at a time, and returns how long that took. A
// Tollgate key's first request in a quota period waits for a durable quota lease (a store write);
// later ones are served from the lease in memory. Priming makes the rounds measure the steady
// state of the target, and its duration is reported as the cold-start cost of the key set.
// For the quota-trip run it also uses up every key's one allowed request.
func prime(parent context.Context, s *system, keys []string, conc int, limit time.Duration) (time.Duration, map[int]int, error) {
	ctx, cancel := context.WithTimeout(parent, limit)
	defer cancel()
	start := time.Now()
	next := make(chan string)
	type result struct {
		code int
		err  error
	}
	results := make(chan result, conc)
	for range conc {
		go func() {
			for k := range next {
				code, err := probe(ctx, s, k)
				select {
				case results <- result{code, err}:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go func() {
		defer close(next)
		for _, k := range keys {
			select {
			case next <- k:
			case <-ctx.Done():
				return
			}
		}
	}()
	codes := map[int]int{}
	var firstErr error
	for range keys {
		select {
		case r := <-results:
			if r.err != nil && firstErr == nil {
				firstErr = r.err
			}
			codes[r.code]++
		case <-ctx.Done():
			if parent.Err() != nil {
				return time.Since(start), codes, parent.Err()
			}
			return time.Since(start), codes, fmt.Errorf("%s: priming %d keys did not finish within %s", s.name, len(keys), limit)
		}
	}
	if firstErr != nil {
		return time.Since(start), codes, fmt.Errorf("%s: priming: %w", s.name, firstErr)
	}
	return time.Since(start), codes, nil
}
