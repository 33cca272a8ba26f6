package control

import (
	"context"
	"errors"
	"math"
	"strings"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/store"
)

// Usage plan messages (spec §11). AWS's exact texts where known; the rest are Tollgate's choice
// (spec §13 A3, A13) and kept here so a later capture can replace them in one place.
const (
	msgPlanNameEmpty = "Usage plan name must be non-empty"
	// msgPlanCreateBadStage is AWS's CreateUsagePlan text for a bad API stage, with the "%s" left
	// literally in the message (spec §13 A5). Never pass it to a printf-style function.
	msgPlanCreateBadStage   = "Invalid API Stage {api: %s, stage: %s} specified for usageplan %s"
	msgPlanFineGrain        = "Can not define fine grain throttling if usage plan throttle is not defined."
	msgPlanQuotaOffset      = "Usage Plan quota offset must be between 0 and the quota limit"
	msgPlanQuotaLimit       = "Usage Plan quota limit must be a non-negative integer"
	msgPlanThrottleNegative = "Usage Plan throttle burstLimit and rateLimit must be non-negative"
	msgPlanBadPeriod        = "Invalid quota period specified: %s. Must be one of: [DAY, WEEK, MONTH]"
	msgPlanDuplicateStage   = "API Stage %s:%s is specified more than once"
	msgPlanBadThrottleKey   = "Invalid method throttle path specified: %s. Must be <resourcePath>/<httpMethod> or */*"
	msgPlanDupThrottleKey   = "Method throttle path %s is specified more than once"
	msgPlanInvalidApiStage  = "Invalid API Stage specified"
	msgPlanStageNotIn       = "Invalid API Stage {api: %s, stage: %s} specified for usageplan %s"
	msgPlanStageExists      = "API Stage %s:%s already exists in usage plan %s"
	msgPlanDeleteWithStages = "Cannot delete Usage Plan %s because there are API Stages associated with it, including %s:%s"
)

// planIDAttempts bounds the retries on an id collision (ids are random; a collision is rare).
const planIDAttempts = 5

// CreateUsagePlanInput is CreateUsagePlan's body (spec §3.1). There is no productCode at
// creation. Tags is nil when the request had no tags member, which decides whether the
// response shows tags.
type CreateUsagePlanInput struct {
	Name        string            `json:"name"`
	Description string            `json:"description"`
	ApiStages   []apigw.ApiStage  `json:"apiStages"`
	Throttle    *apigw.Throttle   `json:"throttle"`
	Quota       *apigw.Quota      `json:"quota"`
	Tags        map[string]string `json:"tags"`
}

// CreateUsagePlan creates a plan. Checks that need no store run first, then every API stage
// must name an existing REST API stage; all bad-stage cases share AWS's literal-%s message.
func (s *Service) CreateUsagePlan(ctx context.Context, region string, in CreateUsagePlanInput) (*apigw.UsagePlan, error) {
	if strings.TrimSpace(in.Name) == "" {
		return nil, apigw.BadRequest(msgPlanNameEmpty)
	}
	if err := checkTagSet(in.Tags); err != nil {
		return nil, err
	}
	stages, err := normalizeCreateStages(in.ApiStages)
	if err != nil {
		return nil, err
	}
	if in.Throttle != nil {
		if err := checkPlanThrottle(*in.Throttle); err != nil {
			return nil, err
		}
	}
	if in.Quota != nil {
		if err := checkPlanQuota(*in.Quota); err != nil {
			return nil, err
		}
	}
	now := s.Now()
	p := &apigw.UsagePlan{
		Name:        in.Name,
		Description: in.Description,
		ApiStages:   stages,
		Throttle:    clonePlanThrottle(in.Throttle),
		Tags:        clonePlanTags(in.Tags),
		CreatedDate: now,
	}
	if in.Quota != nil {
		q := *in.Quota
		p.Quota, p.QuotaSince = &q, now
	}
	if err := checkFineGrain(p); err != nil {
		return nil, err
	}
	err = s.update(ctx, region, func(tx store.Tx) error {
		for _, st := range p.ApiStages {
			if err := planStageExists(tx, st.ApiID, st.Stage); err != nil {
				return notFound(err, planCreateBadStage())
			}
		}
		return insertUsagePlan(tx, p)
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// planCreateBadStage is CreateUsagePlan's 400 for any bad stage (built directly: no formatting).
func planCreateBadStage() *apigw.Error {
	return &apigw.Error{Kind: apigw.KindBadRequest, Message: msgPlanCreateBadStage}
}

// normalizeCreateStages checks CreateUsagePlan's apiStages without the store: both members
// set, no stage twice, well-formed method throttles (keys canonicalised, numbers ≥ 0).
func normalizeCreateStages(in []apigw.ApiStage) ([]apigw.ApiStage, error) {
	out := make([]apigw.ApiStage, 0, len(in))
	seen := map[[2]string]bool{}
	for _, st := range in {
		if st.ApiID == "" || st.Stage == "" {
			return nil, planCreateBadStage()
		}
		id := [2]string{st.ApiID, st.Stage}
		if seen[id] {
			return nil, apigw.BadRequest(msgPlanDuplicateStage, st.ApiID, st.Stage)
		}
		seen[id] = true
		th, err := normalizeThrottleMap(st.Throttle)
		if err != nil {
			return nil, err
		}
		out = append(out, apigw.ApiStage{ApiID: st.ApiID, Stage: st.Stage, Throttle: th})
	}
	return out, nil
}

// normalizeThrottleMap validates a stage's method throttles and returns them with canonical
// keys; an empty map becomes nil (no throttle member on the wire).
func normalizeThrottleMap(in map[string]apigw.Throttle) (map[string]apigw.Throttle, error) {
	if len(in) == 0 {
		return nil, nil
	}
	out := make(map[string]apigw.Throttle, len(in))
	for k, t := range in {
		ck, ok := canonicalThrottleKey(k)
		if !ok {
			return nil, apigw.BadRequest(msgPlanBadThrottleKey, k)
		}
		if _, dup := out[ck]; dup {
			// "/pets/get" and "/pets/GET" name one method; keeping either would be arbitrary.
			return nil, apigw.BadRequest(msgPlanDupThrottleKey, ck)
		}
		if err := checkPlanThrottle(t); err != nil {
			return nil, err
		}
		out[ck] = t
	}
	return out, nil
}

// checkPlanThrottle rejects negative or non-finite limits.
func checkPlanThrottle(t apigw.Throttle) error {
	if t.BurstLimit < 0 || t.RateLimit < 0 || math.IsNaN(t.RateLimit) || math.IsInf(t.RateLimit, 0) {
		return apigw.BadRequest(msgPlanThrottleNegative)
	}
	return nil
}

// checkPlanQuota validates a complete quota: limit ≥ 0, a known period if one is set, and the
// offset rule.
func checkPlanQuota(q apigw.Quota) error {
	if q.Limit < 0 {
		return apigw.BadRequest(msgPlanQuotaLimit)
	}
	if q.Period != "" && !validQuotaPeriod(q.Period) {
		return apigw.BadRequest(msgPlanBadPeriod, q.Period)
	}
	return checkQuotaOffset(q)
}

// checkQuotaOffset is the offset rule of spec §5.1 (Tollgate decision A1): offset is the number
// of requests subtracted from the limit in the initial period, so 0 ≤ offset ≤ limit. It is the
// one place the rule lives, so that the "day the period starts" reading could be switched in by
// configuration later.
func checkQuotaOffset(q apigw.Quota) error {
	if q.Offset < 0 || q.Offset > q.Limit {
		return apigw.BadRequest(msgPlanQuotaOffset)
	}
	return nil
}

func validQuotaPeriod(p string) bool {
	return p == apigw.PeriodDay || p == apigw.PeriodWeek || p == apigw.PeriodMonth
}

// checkFineGrain enforces "method throttles need a plan throttle" (spec §3.1, §3.4).
func checkFineGrain(p *apigw.UsagePlan) error {
	if p.Throttle != nil {
		return nil
	}
	for _, st := range p.ApiStages {
		if len(st.Throttle) > 0 {
			return apigw.BadRequest(msgPlanFineGrain)
		}
	}
	return nil
}

// planStageExists returns store.ErrNotFound (possibly wrapped) when the REST API or its stage is
// missing.
func planStageExists(tx store.Tx, apiID, stage string) error {
	if _, err := tx.GetRestApi(apiID); err != nil {
		return err
	}
	_, err := tx.GetStage(apiID, stage)
	return err
}

// insertUsagePlan stores a new plan under a fresh id, retrying on the rare collision.
func insertUsagePlan(tx store.Tx, p *apigw.UsagePlan) error {
	for range planIDAttempts {
		p.ID = apigw.NewID(apigw.UsagePlanIDLen)
		if _, err := tx.GetUsagePlan(p.ID); !errors.Is(err, store.ErrNotFound) {
			if err != nil {
				return err
			}
			continue
		}
		p.Rev = 0
		return tx.PutUsagePlan(p)
	}
	return errors.New("control: could not find a free usage plan id")
}

// GetUsagePlan returns one plan.
func (s *Service) GetUsagePlan(ctx context.Context, region, id string) (*apigw.UsagePlan, error) {
	var p *apigw.UsagePlan
	err := s.view(ctx, region, func(tx store.Tx) error {
		var err error
		p, err = getPlan(tx, id)
		return err
	})
	return p, err
}

// getPlan reads a plan, mapping a missing one to AWS's 404.
func getPlan(tx store.Tx, id string) (*apigw.UsagePlan, error) {
	p, err := tx.GetUsagePlan(id)
	if err != nil {
		return nil, notFound(err, apigw.NotFound(apigw.MsgInvalidUsagePlanID))
	}
	return p, nil
}

// GetUsagePlans lists plans newest first; a non-empty keyID keeps the plans holding that API
// key (an unknown key simply matches nothing).
func (s *Service) GetUsagePlans(ctx context.Context, region, keyID, cursor string, limit int) (Page[*apigw.UsagePlan], error) {
	var out Page[*apigw.UsagePlan]
	err := s.view(ctx, region, func(tx store.Tx) error {
		var err error
		out.Items, out.Next, err = tx.ListUsagePlans(keyID, store.Page{Cursor: cursor, Limit: limit})
		return err
	})
	return out, err
}

// DeleteUsagePlan deletes a plan with its usage plan keys. AWS refuses while API stages remain
// (clients remove them first with UpdateUsagePlan); keys do not block deletion.
func (s *Service) DeleteUsagePlan(ctx context.Context, region, id string) error {
	return s.update(ctx, region, func(tx store.Tx) error {
		p, err := getPlan(tx, id)
		if err != nil {
			return err
		}
		if len(p.ApiStages) > 0 {
			st := p.ApiStages[0]
			return apigw.BadRequest(msgPlanDeleteWithStages, p.ID, st.ApiID, st.Stage)
		}
		return notFound(tx.DeleteUsagePlan(id), apigw.NotFound(apigw.MsgInvalidUsagePlanID))
	})
}

// clonePlan deep-copies a plan so a patch can be applied to the copy and dropped on error.
func clonePlan(p *apigw.UsagePlan) *apigw.UsagePlan {
	c := *p
	c.ApiStages = make([]apigw.ApiStage, len(p.ApiStages))
	for i, st := range p.ApiStages {
		c.ApiStages[i] = apigw.ApiStage{ApiID: st.ApiID, Stage: st.Stage}
		if st.Throttle != nil {
			c.ApiStages[i].Throttle = make(map[string]apigw.Throttle, len(st.Throttle))
			for k, v := range st.Throttle {
				c.ApiStages[i].Throttle[k] = v
			}
		}
	}
	c.Throttle = clonePlanThrottle(p.Throttle)
	if p.Quota != nil {
		q := *p.Quota
		c.Quota = &q
	}
	c.Tags = clonePlanTags(p.Tags)
	return &c
}

func clonePlanThrottle(t *apigw.Throttle) *apigw.Throttle {
	if t == nil {
		return nil
	}
	c := *t
	return &c
}

func clonePlanTags(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// planStage returns the index of apiID:stage in the plan's stages, or -1.
func planStage(p *apigw.UsagePlan, apiID, stage string) int {
	for i, st := range p.ApiStages {
		if st.ApiID == apiID && st.Stage == stage {
			return i
		}
	}
	return -1
}
