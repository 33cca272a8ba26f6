package control

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/apigw/patch"
	"github.com/tollgate/tollgate/internal/store"
)

// Deployment and stage texts (addendum §6). The stage-name text is Tollgate's: AWS's recorded
// one predates hyphens in stage names (addendum §12 A16).
const (
	msgNoMethods         = "The REST API doesn't contain any methods"
	msgNoIntegration     = "No integration defined for method"
	msgBadStageName      = "Stage name only allows a-zA-Z0-9_-"
	msgNoSuchDeployment  = "Deployment id does not exist"
	msgActiveStages      = "Active stages pointing to this deployment must be moved or deleted"
	msgStageExists       = "Stage already exists"
	msgCanaryUnsupported = "Canary settings are not supported by Tollgate"
)

// stageNameRE is the documented stage-name rule: letters, digits, '-' and '_', at most 128.
var stageNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)

func checkStageName(name string) error {
	if !stageNameRE.MatchString(name) {
		return apigw.BadRequest(msgBadStageName)
	}
	return nil
}

// cacheClusterSizes is the model's CacheClusterSize enum, in the order AWS prints it.
var cacheClusterSizes = []string{"0.5", "1.6", "6.1", "13.5", "28.4", "58.2", "118", "237"}

// defaultCacheClusterSize is what a cache cluster gets when it is enabled without a size (the
// aws-cli get-stages example shows "0.5" for an enabled cluster).
const defaultCacheClusterSize = "0.5"

func validCacheClusterSize(v string) bool {
	for _, s := range cacheClusterSizes {
		if s == v {
			return true
		}
	}
	return false
}

// cacheSizeViolation is the ValidationException entry for a bad CacheClusterSize enum value, or
// "" when the value is absent or valid.
func cacheSizeViolation(v *string, input string) string {
	if v == nil || validCacheClusterSize(*v) {
		return ""
	}
	return fmt.Sprintf("Value '%s' at '%s.cacheClusterSize' failed to satisfy constraint: Member must satisfy enum value set: [%s]",
		*v, input, strings.Join(cacheClusterSizes, ", "))
}

// DeploymentCanarySettings is CreateDeployment's canarySettings member.
type DeploymentCanarySettings struct {
	PercentTraffic         *float64          `json:"percentTraffic"`
	StageVariableOverrides map[string]string `json:"stageVariableOverrides"`
	UseStageCache          *bool             `json:"useStageCache"`
}

// CreateDeploymentInput is the CreateDeployment body. Pointers tell "not sent" from zero values:
// only members that were sent are applied to the stage named by StageName.
type CreateDeploymentInput struct {
	StageName           *string                   `json:"stageName"`
	StageDescription    *string                   `json:"stageDescription"`
	Description         string                    `json:"description"`
	CacheClusterEnabled *bool                     `json:"cacheClusterEnabled"`
	CacheClusterSize    *string                   `json:"cacheClusterSize"`
	Variables           map[string]string         `json:"variables"`
	CanarySettings      *DeploymentCanarySettings `json:"canarySettings"`
	TracingEnabled      *bool                     `json:"tracingEnabled"`
}

// CreateDeployment freezes the API's current definition into a new deployment and, with a
// stageName, creates that stage or re-points it (addendum §6.1, §8.1).
func (s *Service) CreateDeployment(ctx context.Context, region, apiID string, in CreateDeploymentInput) (*apigw.Deployment, error) {
	if v := cacheSizeViolation(in.CacheClusterSize, "createDeploymentInput"); v != "" {
		return nil, patch.ValidationErrors([]string{v})
	}
	var out *apigw.Deployment
	err := s.update(ctx, region, func(tx store.Tx) error {
		out = nil
		api, err := tx.GetRestApi(apiID)
		if err != nil {
			return notFound(err, apigw.InvalidAPI(s.cfg.AccountID, apiID))
		}
		stageName := ""
		if in.StageName != nil {
			stageName = *in.StageName
		}
		if stageName != "" {
			if err := checkStageName(stageName); err != nil {
				return err
			}
		}
		stage, err := deploymentStage(tx, apiID, in.StageName, in.CanarySettings)
		if err != nil {
			return err
		}
		if err := checkDeployable(api); err != nil {
			return err
		}
		now := s.Now()
		d := &apigw.Deployment{
			ApiID:            apiID,
			Description:      in.Description,
			CreatedDate:      now,
			Resources:        apigw.CloneResources(api.Resources),
			GatewayResponses: apigw.CloneGatewayResponses(api.GatewayResponses),
			BinaryMediaTypes: append([]string(nil), api.BinaryMediaTypes...),
			Authorizers:      apigw.CloneAuthorizers(api.Authorizers),
			ApiKeySource:     api.ApiKeySource,
		}
		if err := putDeployment(tx, d); err != nil {
			return err
		}
		if stageName != "" {
			if err := s.pointStage(tx, stage, apiID, stageName, d.ID, in); err != nil {
				return err
			}
		}
		out = d
		return nil
	})
	return out, err
}

// deploymentStage loads the stage CreateDeployment will point (nil when it does not exist yet)
// and applies the canary rules: a canary needs a named, existing stage (recorded texts, §6.1).
func deploymentStage(tx store.Tx, apiID string, stageName *string, canary *DeploymentCanarySettings) (*apigw.Stage, error) {
	var stage *apigw.Stage
	name := ""
	if stageName != nil {
		name = *stageName
	}
	if name != "" {
		st, err := tx.GetStage(apiID, name)
		switch {
		case err == nil:
			stage = st
		case !errors.Is(err, store.ErrNotFound):
			return nil, err
		}
	}
	if canary == nil {
		return stage, nil
	}
	if name == "" {
		// The recorded text ends "is null" for an absent stageName and "is " for "".
		provided := "null"
		if stageName != nil {
			provided = ""
		}
		return nil, apigw.BadRequest("Invalid deployment content specified.Non null and non empty stageName must be provided for canary deployment. Provided value is %s", provided)
	}
	if stage == nil {
		return nil, apigw.BadRequest("Invalid deployment content specified.Stage %s must already be created before making a canary release deployment", name)
	}
	return nil, apigw.BadRequest(msgCanaryUnsupported)
}

// checkDeployable refuses an API with no method, or with a method lacking an integration (§6.1).
func checkDeployable(api *apigw.RestApi) error {
	methods := 0
	for _, r := range apigw.PreOrder(api.Resources) {
		for _, m := range r.Methods {
			methods++
			if m.Integration == nil {
				return apigw.BadRequest(msgNoIntegration)
			}
		}
	}
	if methods == 0 {
		return apigw.BadRequest(msgNoMethods)
	}
	return nil
}

// putDeployment inserts d under a fresh id, drawing again on the (unlikely) id collision.
func putDeployment(tx store.Tx, d *apigw.Deployment) error {
	var err error
	for range 5 {
		d.ID = apigw.NewID(apigw.DeploymentIDLen)
		if err = tx.PutDeployment(d); !errors.Is(err, store.ErrConflict) {
			return err
		}
	}
	return err
}

// pointStage creates the stage of a CreateDeployment (with the §2.8 defaults) or re-points the
// existing one, then applies the stage members the request carried.
func (s *Service) pointStage(tx store.Tx, st *apigw.Stage, apiID, name, deploymentID string, in CreateDeploymentInput) error {
	now := s.Now()
	if st == nil {
		st = newStageDefaults(apiID, name, deploymentID, now)
	}
	st.DeploymentID = deploymentID
	st.LastUpdatedDate = now
	if in.StageDescription != nil {
		st.Description = *in.StageDescription
	}
	// Variables are merged, not replaced: Terraform sends an empty map on every deployment and
	// must not wipe the variables of a stage it manages separately ([R]).
	for k, v := range in.Variables {
		if st.Variables == nil {
			st.Variables = map[string]string{}
		}
		st.Variables[k] = v
	}
	applyCacheCluster(st, in.CacheClusterEnabled, in.CacheClusterSize)
	if in.TracingEnabled != nil {
		st.TracingEnabled = *in.TracingEnabled
	}
	return tx.PutStage(st)
}

// newStageDefaults returns a stage with the defaults every new stage has (§2.8).
func newStageDefaults(apiID, name, deploymentID string, now time.Time) *apigw.Stage {
	return &apigw.Stage{
		ApiID:           apiID,
		StageName:       name,
		DeploymentID:    deploymentID,
		MethodSettings:  map[string]apigw.MethodSetting{},
		CreatedDate:     now,
		LastUpdatedDate: now,
	}
}

// applyCacheCluster sets the cache members that were sent; an enabled cluster without a size
// gets the smallest one.
func applyCacheCluster(st *apigw.Stage, enabled *bool, size *string) {
	if size != nil {
		st.CacheClusterSize = *size
	}
	if enabled != nil {
		st.CacheClusterEnabled = *enabled
	}
	if st.CacheClusterEnabled && st.CacheClusterSize == "" {
		st.CacheClusterSize = defaultCacheClusterSize
	}
}

// GetDeployment returns one deployment. A wrong API id answers with the deployment text: like the
// rest of the tree below the API, the API is not checked separately (§1.3).
func (s *Service) GetDeployment(ctx context.Context, region, apiID, id string) (*apigw.Deployment, error) {
	var out *apigw.Deployment
	err := s.view(ctx, region, func(tx store.Tx) error {
		d, err := tx.GetDeployment(apiID, id)
		if err != nil {
			return notFound(err, apigw.NotFound(apigw.MsgInvalidDeployment))
		}
		out = d
		return nil
	})
	return out, err
}

// GetDeployments lists an API's deployments in creation order, one page at a time.
func (s *Service) GetDeployments(ctx context.Context, region, apiID, cursor string, limit int) (Page[*apigw.Deployment], error) {
	var out Page[*apigw.Deployment]
	err := s.view(ctx, region, func(tx store.Tx) error {
		if _, err := tx.GetRestApi(apiID); err != nil {
			return notFound(err, apigw.InvalidAPI(s.cfg.AccountID, apiID))
		}
		items, next, err := tx.ListDeployments(apiID, store.Page{Cursor: cursor, Limit: limit})
		if err != nil {
			return err
		}
		out = Page[*apigw.Deployment]{Items: items, Next: next}
		return nil
	})
	return out, err
}

// DeleteDeployment deletes a deployment no stage points at (§6.4).
func (s *Service) DeleteDeployment(ctx context.Context, region, apiID, id string) error {
	return s.update(ctx, region, func(tx store.Tx) error {
		if _, err := tx.GetDeployment(apiID, id); err != nil {
			return notFound(err, apigw.NotFound(apigw.MsgInvalidDeployment))
		}
		stages, err := tx.ListStages(apiID)
		if err != nil {
			return err
		}
		for _, st := range stages {
			if st.DeploymentID == id {
				return apigw.BadRequest(msgActiveStages)
			}
		}
		return tx.DeleteDeployment(apiID, id)
	})
}
