package control

import (
	"context"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/apigw/patch"
	"github.com/tollgate/tollgate/internal/store"
)

// UpdateUsagePlan applies patch operations to a plan (spec §3.4). The plan must exist (404
// before any operation is looked at); the operations apply in order to a copy, and the copy is
// stored only if all of them succeed and the final state keeps the invariants: clients such as
// Terraform remove and re-add a stage and set its method throttles (and only later the plan
// throttle) in one request, so intermediate states may legitimately break them.
func (s *Service) UpdateUsagePlan(ctx context.Context, region, id string, ops []patch.Op) (*apigw.UsagePlan, error) {
	var out *apigw.UsagePlan
	err := s.update(ctx, region, func(tx store.Tx) error {
		orig, err := getPlan(tx, id)
		if err != nil {
			return err
		}
		if len(ops) == 0 {
			out = orig
			return nil
		}
		pp := &planPatch{tx: tx, account: s.cfg.AccountID, plan: clonePlan(orig)}
		for _, op := range ops {
			if err := pp.apply(op); err != nil {
				return err
			}
		}
		p := pp.plan
		if err := checkPlanFinal(tx, orig, p); err != nil {
			return err
		}
		if orig.Quota == nil && p.Quota != nil {
			p.QuotaSince = s.Now()
		}
		if p.Quota == nil {
			p.QuotaSince = time.Time{}
		}
		if err := tx.PutUsagePlan(p); err != nil {
			return err
		}
		out = p
		return nil
	})
	return out, err
}

// checkPlanFinal checks the invariants on the state a patch leaves: method throttles need a
// plan throttle, the quota is valid as a whole (offset against the final limit), and no key of
// the plan reaches a newly added stage through another plan as well.
func checkPlanFinal(tx store.Tx, orig, p *apigw.UsagePlan) error {
	if err := checkFineGrain(p); err != nil {
		return err
	}
	if p.Quota != nil {
		if err := checkPlanQuota(*p.Quota); err != nil {
			return err
		}
	}
	var added []apigw.ApiStage
	for _, st := range p.ApiStages {
		if planStage(orig, st.ApiID, st.Stage) < 0 {
			added = append(added, st)
		}
	}
	if len(added) == 0 {
		return nil
	}
	return forEachPlanKey(tx, p.ID, func(k *apigw.ApiKey) error {
		return checkStageConflicts(tx, k.ID, p.ID, added)
	})
}

// planPatch is the working state of one UpdateUsagePlan request.
type planPatch struct {
	tx      store.Tx
	account string
	plan    *apigw.UsagePlan
}

// planSetter applies one (path, op) pair of the plan's patch table.
type planSetter func(pp *planPatch, op patch.Op) error

// planPathTable is UpdateUsagePlan's table of fixed paths (spec §3.4): path → op → setter.
// Paths under /apiStages/<apiId>:<stage>/throttle are parsed separately (applyStageThrottle).
var planPathTable = map[string]map[string]planSetter{
	"/name":                {"replace": setPlanName},
	"/description":         {"replace": setPlanDescription},
	"/productCode":         {"add": setPlanProductCode, "replace": setPlanProductCode, "remove": removePlanProductCode},
	"/apiStages":           {"add": addPlanStage, "remove": removePlanStage},
	"/quota":               {"remove": removePlanQuota},
	"/quota/limit":         {"add": setQuotaLimit, "replace": setQuotaLimit},
	"/quota/offset":        {"add": setQuotaOffset, "replace": setQuotaOffset},
	"/quota/period":        {"add": setQuotaPeriod, "replace": setQuotaPeriod},
	"/throttle":            {"remove": removePlanThrottle},
	"/throttle/burstLimit": {"add": setPlanBurst, "replace": setPlanBurst},
	"/throttle/rateLimit":  {"add": setPlanRate, "replace": setPlanRate},
}

// planAllowedPaths are the lists AWS prints in "Invalid patch path" errors, per op. The remove
// list is AWS's verbatim (spec §11, R2; note AWS's "apidId" typo); the others follow it.
var planAllowedPaths = map[string][]string{
	"add": {"/apiStages", "/productCode", "/quota/limit", "/quota/offset", "/quota/period",
		"/throttle/burstLimit", "/throttle/rateLimit"},
	"replace": {"/name", "/description", "/productCode", "/quota/limit", "/quota/offset", "/quota/period",
		"/throttle/burstLimit", "/throttle/rateLimit", "/apiStages/<apidId:stageName>/throttle",
		"/apiStages/<apidId:stageName>/throttle/<resourcePath>/<httpMethod>/rateLimit",
		"/apiStages/<apidId:stageName>/throttle/<resourcePath>/<httpMethod>/burstLimit"},
	"remove": {"/apiStages", "/quota", "/throttle", "/productCode",
		"/apiStages/<apidId:stageName>/throttle/<resourcePath>/<httpMethod>",
		"/apiStages/<apidId:stageName>/throttle"},
}

func (pp *planPatch) apply(op patch.Op) error {
	if strings.HasPrefix(op.Path, "/apiStages/") {
		return pp.applyStageThrottle(op)
	}
	if set := planPathTable[op.Path][op.Op]; set != nil {
		return set(pp, op)
	}
	return pp.invalidPath(op)
}

func (pp *planPatch) invalidPath(op patch.Op) error {
	return patch.InvalidPath(op.Path, op.Op, planAllowedPaths[op.Op])
}

func setPlanName(pp *planPatch, op patch.Op) error {
	if strings.TrimSpace(op.V()) == "" {
		return apigw.BadRequest(msgPlanNameEmpty)
	}
	pp.plan.Name = op.V()
	return nil
}

func setPlanDescription(pp *planPatch, op patch.Op) error {
	pp.plan.Description = op.V()
	return nil
}

func setPlanProductCode(pp *planPatch, op patch.Op) error {
	pp.plan.ProductCode = op.V()
	return nil
}

func removePlanProductCode(pp *planPatch, _ patch.Op) error {
	pp.plan.ProductCode = ""
	return nil
}

// planStageValue reads "<apiId>:<stage>"; a missing value or one without exactly one ":" is
// AWS's 400 "Invalid API Stage specified".
func planStageValue(op patch.Op) (apiID, stage string, err error) {
	v := op.V()
	if !op.HasValue || strings.Count(v, ":") != 1 {
		return "", "", apigw.BadRequest(msgPlanInvalidApiStage)
	}
	apiID, stage, _ = strings.Cut(v, ":")
	return apiID, stage, nil
}

// addPlanStage: the REST API and its stage must exist; a stage already in the plan is a 409.
// Key conflicts with other plans are checked on the final state (checkPlanFinal).
func addPlanStage(pp *planPatch, op patch.Op) error {
	apiID, stage, err := planStageValue(op)
	if err != nil {
		return err
	}
	if apiID == "" || stage == "" {
		return apigw.BadRequest(msgPlanInvalidApiStage)
	}
	if _, err := pp.tx.GetRestApi(apiID); err != nil {
		return notFound(err, apigw.InvalidAPI(pp.account, apiID))
	}
	if _, err := pp.tx.GetStage(apiID, stage); err != nil {
		return notFound(err, pp.stageNotInPlan(apiID, stage))
	}
	if planStage(pp.plan, apiID, stage) >= 0 {
		return apigw.Conflict(msgPlanStageExists, apiID, stage, pp.plan.ID)
	}
	pp.plan.ApiStages = append(pp.plan.ApiStages, apigw.ApiStage{ApiID: apiID, Stage: stage})
	return nil
}

// removePlanStage drops a stage with its method throttles; a stage not in the plan (unknown API
// or stage included) is a 404.
func removePlanStage(pp *planPatch, op patch.Op) error {
	apiID, stage, err := planStageValue(op)
	if err != nil {
		return err
	}
	i := planStage(pp.plan, apiID, stage)
	if i < 0 {
		return pp.stageNotInPlan(apiID, stage)
	}
	pp.plan.ApiStages = append(pp.plan.ApiStages[:i:i], pp.plan.ApiStages[i+1:]...)
	return nil
}

func (pp *planPatch) stageNotInPlan(apiID, stage string) *apigw.Error {
	return apigw.NotFound(msgPlanStageNotIn, apiID, stage, pp.plan.ID)
}

func removePlanQuota(pp *planPatch, _ patch.Op) error {
	pp.plan.Quota = nil
	return nil
}

// quota returns the plan's quota, creating it when absent: replace/add of /quota/* on a plan
// without a quota creates one (offset 0) [S].
func (pp *planPatch) quota() *apigw.Quota {
	if pp.plan.Quota == nil {
		pp.plan.Quota = &apigw.Quota{}
	}
	return pp.plan.Quota
}

func setQuotaLimit(pp *planPatch, op patch.Op) error {
	n, err := planParseInt(op)
	if err != nil {
		return err
	}
	pp.quota().Limit = n
	return nil
}

// setQuotaOffset accepts any integer here: the offset rule is checked against the final limit,
// since clients send limit and offset in either order.
func setQuotaOffset(pp *planPatch, op patch.Op) error {
	n, err := strconv.ParseInt(strings.TrimSpace(op.V()), 10, 64)
	if err != nil {
		return planBadNumber(op, "an integer")
	}
	pp.quota().Offset = n
	return nil
}

func setQuotaPeriod(pp *planPatch, op patch.Op) error {
	if !validQuotaPeriod(op.V()) {
		return apigw.BadRequest(msgPlanBadPeriod, op.V())
	}
	pp.quota().Period = op.V()
	return nil
}

func removePlanThrottle(pp *planPatch, _ patch.Op) error {
	pp.plan.Throttle = nil
	return nil
}

// throttle returns the plan throttle, creating it (0 / 0.0) when absent.
func (pp *planPatch) throttle() *apigw.Throttle {
	if pp.plan.Throttle == nil {
		pp.plan.Throttle = &apigw.Throttle{}
	}
	return pp.plan.Throttle
}

func setPlanBurst(pp *planPatch, op patch.Op) error {
	n, err := planParseInt(op)
	if err != nil {
		return err
	}
	pp.throttle().BurstLimit = n
	return nil
}

func setPlanRate(pp *planPatch, op patch.Op) error {
	f, err := planParseRate(op)
	if err != nil {
		return err
	}
	pp.throttle().RateLimit = f
	return nil
}

// applyStageThrottle handles /apiStages/<apiId>:<stage>/throttle[...] paths. The stage must be
// in the plan as it stands after the request's earlier operations.
func (pp *planPatch) applyStageThrottle(op patch.Op) error {
	tp, ok := parseStageThrottlePath(op.Path)
	if !ok || !stageThrottleOpAllowed(op.Op, tp) {
		return pp.invalidPath(op)
	}
	i := planStage(pp.plan, tp.ApiID, tp.Stage)
	if i < 0 {
		return pp.stageNotInPlan(tp.ApiID, tp.Stage)
	}
	st := &pp.plan.ApiStages[i]
	switch {
	case tp.Key == "" && op.Op == "remove":
		st.Throttle = nil
	case tp.Key == "":
		m, err := parseThrottleMapValue(op.V())
		if err != nil {
			return err
		}
		st.Throttle = m
	case op.Op == "remove":
		// Removing an entry that is not there leaves the map as it is (idempotent).
		delete(st.Throttle, tp.Key)
		if len(st.Throttle) == 0 {
			st.Throttle = nil
		}
	default:
		return setMethodThrottleField(st, tp, op)
	}
	return nil
}

// stageThrottleOpAllowed is the method-throttle part of the patch table: the whole map may be
// replaced or removed, one entry removed, one entry's field added or replaced.
func stageThrottleOpAllowed(op string, tp stageThrottlePath) bool {
	switch {
	case tp.Key == "":
		return op == "replace" || op == "remove"
	case tp.Field == "":
		return op == "remove"
	}
	return op == "replace" || op == "add"
}

// setMethodThrottleField sets rateLimit or burstLimit of one method entry, creating the entry
// (other field 0) when absent.
func setMethodThrottleField(st *apigw.ApiStage, tp stageThrottlePath, op patch.Op) error {
	t := st.Throttle[tp.Key]
	if tp.Field == throttleFieldRate {
		f, err := planParseRate(op)
		if err != nil {
			return err
		}
		t.RateLimit = f
	} else {
		n, err := planParseInt(op)
		if err != nil {
			return err
		}
		t.BurstLimit = n
	}
	if st.Throttle == nil {
		st.Throttle = map[string]apigw.Throttle{}
	}
	st.Throttle[tp.Key] = t
	return nil
}

// parseThrottleMapValue reads the value of replace /apiStages/<a:s>/throttle: a JSON object
// {"/pets/GET":{"rateLimit":1.0,"burstLimit":1}, …} that replaces the stage's whole map.
func parseThrottleMapValue(v string) (map[string]apigw.Throttle, error) {
	var m map[string]apigw.Throttle
	if err := json.Unmarshal([]byte(v), &m); err != nil {
		return nil, &apigw.Error{Kind: apigw.KindBadRequest, Message: "Invalid method throttle settings specified: " + v, Cause: err}
	}
	return normalizeThrottleMap(m)
}

func planParseInt(op patch.Op) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(op.V()), 10, 64)
	if err != nil || n < 0 {
		return 0, planBadNumber(op, "a non-negative integer")
	}
	return n, nil
}

// planParseRate reads a rate limit: a non-negative finite double ("0.1" is valid).
func planParseRate(op patch.Op) (float64, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(op.V()), 64)
	if err != nil || f < 0 || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, planBadNumber(op, "a non-negative number")
	}
	return f, nil
}

func planBadNumber(op patch.Op, want string) error {
	return apigw.BadRequest("Invalid value '%s' specified for %s: must be %s", op.V(), op.Path, want)
}
