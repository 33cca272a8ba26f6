package control

import (
	"context"
	"errors"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/apigw/patch"
	"github.com/tollgate/tollgate/internal/store"
)

// CanarySettings is the canarySettings member of CreateStage. Tollgate does not run canary
// releases; the member is decoded so its deployment id can be checked like AWS does.
type CanarySettings struct {
	PercentTraffic         *float64          `json:"percentTraffic"`
	DeploymentID           string            `json:"deploymentId"`
	StageVariableOverrides map[string]string `json:"stageVariableOverrides"`
	UseStageCache          *bool             `json:"useStageCache"`
}

// CreateStageInput is the CreateStage body (addendum §6.5).
type CreateStageInput struct {
	StageName            string            `json:"stageName"`
	DeploymentID         string            `json:"deploymentId"`
	Description          string            `json:"description"`
	CacheClusterEnabled  *bool             `json:"cacheClusterEnabled"`
	CacheClusterSize     *string           `json:"cacheClusterSize"`
	Variables            map[string]string `json:"variables"`
	DocumentationVersion string            `json:"documentationVersion"`
	CanarySettings       *CanarySettings   `json:"canarySettings"`
	TracingEnabled       bool              `json:"tracingEnabled"`
	Tags                 map[string]string `json:"tags"`
}

// CreateStage creates a stage pointing at an existing deployment.
func (s *Service) CreateStage(ctx context.Context, region, apiID string, in CreateStageInput) (*apigw.Stage, error) {
	if v := cacheSizeViolation(in.CacheClusterSize, "createStageInput"); v != "" {
		return nil, patch.ValidationErrors([]string{v})
	}
	var out *apigw.Stage
	err := s.update(ctx, region, func(tx store.Tx) error {
		out = nil
		if _, err := tx.GetRestApi(apiID); err != nil {
			return notFound(err, apigw.InvalidAPI(s.cfg.AccountID, apiID))
		}
		if err := checkStageName(in.StageName); err != nil {
			return err
		}
		if err := checkTagSet(in.Tags); err != nil {
			return err
		}
		if err := checkDeploymentExists(tx, apiID, in.DeploymentID); err != nil {
			return err
		}
		if in.CanarySettings != nil {
			if err := checkDeploymentExists(tx, apiID, in.CanarySettings.DeploymentID); err != nil {
				return err
			}
			return apigw.BadRequest(msgCanaryUnsupported)
		}
		switch _, err := tx.GetStage(apiID, in.StageName); {
		case err == nil:
			return apigw.Conflict(msgStageExists)
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		st := newStageDefaults(apiID, in.StageName, in.DeploymentID, s.Now())
		st.Description = in.Description
		st.DocumentationVersion = in.DocumentationVersion
		st.TracingEnabled = in.TracingEnabled
		if len(in.Variables) > 0 {
			st.Variables = in.Variables
		}
		if len(in.Tags) > 0 {
			st.Tags = in.Tags
		}
		applyCacheCluster(st, in.CacheClusterEnabled, in.CacheClusterSize)
		if err := tx.PutStage(st); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return apigw.Conflict(msgStageExists)
			}
			return err
		}
		out = st
		return nil
	})
	return out, err
}

// checkDeploymentExists answers 400 "Deployment id does not exist" for an unknown deployment
// (recorded for canary deployment ids; Tollgate uses it for every deployment reference).
func checkDeploymentExists(tx store.Tx, apiID, id string) error {
	if id == "" {
		return apigw.BadRequest(msgNoSuchDeployment)
	}
	if _, err := tx.GetDeployment(apiID, id); err != nil {
		return notFound(err, apigw.BadRequest(msgNoSuchDeployment))
	}
	return nil
}

// loadStage loads a stage (404 with AWS's lower-case stage text, §12 A4) with its methodSettings
// map allocated, since it is always present on the wire and UpdateStage writes into it.
func loadStage(tx store.Tx, apiID, name string) (*apigw.Stage, error) {
	st, err := tx.GetStage(apiID, name)
	if err != nil {
		return nil, notFound(err, apigw.NotFound(apigw.MsgInvalidStage))
	}
	if st.MethodSettings == nil {
		st.MethodSettings = map[string]apigw.MethodSetting{}
	}
	return st, nil
}

// GetStage returns one stage; a wrong API id answers with the stage text (§1.3).
func (s *Service) GetStage(ctx context.Context, region, apiID, name string) (*apigw.Stage, error) {
	var out *apigw.Stage
	err := s.view(ctx, region, func(tx store.Tx) error {
		st, err := loadStage(tx, apiID, name)
		out = st
		return err
	})
	return out, err
}

// GetStages lists an API's stages in creation order (not paginated), optionally only those
// pointing at deploymentID.
func (s *Service) GetStages(ctx context.Context, region, apiID, deploymentID string) ([]*apigw.Stage, error) {
	var out []*apigw.Stage
	err := s.view(ctx, region, func(tx store.Tx) error {
		out = nil
		if _, err := tx.GetRestApi(apiID); err != nil {
			return notFound(err, apigw.InvalidAPI(s.cfg.AccountID, apiID))
		}
		all, err := tx.ListStages(apiID)
		if err != nil {
			return err
		}
		for _, st := range all {
			if deploymentID == "" || st.DeploymentID == deploymentID {
				if st.MethodSettings == nil {
					st.MethodSettings = map[string]apigw.MethodSetting{}
				}
				out = append(out, st)
			}
		}
		return nil
	})
	return out, err
}

// UpdateStage applies patch operations to a stage, all or nothing (addendum §6.8). Stage
// settings take effect on the data plane without a new deployment.
func (s *Service) UpdateStage(ctx context.Context, region, apiID, name string, ops []patch.Op) (*apigw.Stage, error) {
	var out *apigw.Stage
	err := s.update(ctx, region, func(tx store.Tx) error {
		out = nil
		st, err := loadStage(tx, apiID, name)
		if err != nil {
			return err
		}
		p := stagePatcher{tx: tx, st: st, defaults: s.defaultMethodSetting()}
		for _, op := range ops {
			if err := p.apply(op); err != nil {
				return err
			}
		}
		if len(ops) > 0 {
			st.LastUpdatedDate = s.Now()
			if err := tx.PutStage(st); err != nil {
				return err
			}
		}
		out = st
		return nil
	})
	return out, err
}

// DeleteStage deletes a stage and removes it, with its method throttles, from every usage plan
// (base spec §8), in the same transaction.
func (s *Service) DeleteStage(ctx context.Context, region, apiID, name string) error {
	return s.update(ctx, region, func(tx store.Tx) error {
		if _, err := loadStage(tx, apiID, name); err != nil {
			return err
		}
		if err := tx.DeleteStage(apiID, name); err != nil {
			return notFound(err, apigw.NotFound(apigw.MsgInvalidStage))
		}
		return dropStagesFromPlans(tx, apiID, func(stage string) bool { return stage == name })
	})
}

// dropStagesFromPlans removes from every usage plan the stages of apiID that match, writing only
// the plans that change. DeleteRestApi can pass a match-all function to detach a whole API.
func dropStagesFromPlans(tx store.Tx, apiID string, match func(stage string) bool) error {
	var changed []*apigw.UsagePlan
	cursor := ""
	for {
		plans, next, err := tx.ListUsagePlans("", store.Page{Cursor: cursor, Limit: 500})
		if err != nil {
			return err
		}
		for _, p := range plans {
			kept := make([]apigw.ApiStage, 0, len(p.ApiStages))
			for _, as := range p.ApiStages {
				if as.ApiID != apiID || !match(as.Stage) {
					kept = append(kept, as)
				}
			}
			if len(kept) != len(p.ApiStages) {
				p.ApiStages = kept
				changed = append(changed, p)
			}
		}
		if next == "" {
			break
		}
		cursor = next
	}
	for _, p := range changed {
		if err := tx.PutUsagePlan(p); err != nil {
			return err
		}
	}
	return nil
}
