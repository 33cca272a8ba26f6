package awswire

import "github.com/tollgate/tollgate/internal/apigw"

// Usage plan wire shapes (spec §2.2, §2.3). Their presence rules are part of the contract:
// apiStages is always present ([] when none); quota, when present, always carries limit and
// offset; throttle always carries both numbers, rateLimit with a fractional part; a stage's
// throttle map only appears when it has entries; tags depend on the operation (UsagePlanTags).
// The type names carry a UsagePlan prefix because other resource groups (the account's
// throttleSettings) have look-alike shapes with their own rules.

// UsagePlanThrottle is ThrottleSettings inside a usage plan.
type UsagePlanThrottle struct {
	BurstLimit int64  `json:"burstLimit"`
	RateLimit  Double `json:"rateLimit"`
}

// UsagePlanQuota is QuotaSettings; period is omitted when it was never set.
type UsagePlanQuota struct {
	Limit  int64  `json:"limit"`
	Offset int64  `json:"offset"`
	Period string `json:"period,omitempty"`
}

// UsagePlanStage is ApiStage.
type UsagePlanStage struct {
	ApiID    string                       `json:"apiId"`
	Stage    string                       `json:"stage"`
	Throttle map[string]UsagePlanThrottle `json:"throttle,omitempty"`
}

// UsagePlan is the UsagePlan shape. Tags uses omitzero so that a nil map is omitted while an
// empty non-nil map is written as {} (Get and Update always show tags).
type UsagePlan struct {
	ID          string             `json:"id"`
	Name        string             `json:"name"`
	Description string             `json:"description,omitempty"`
	ApiStages   []UsagePlanStage   `json:"apiStages"`
	Throttle    *UsagePlanThrottle `json:"throttle,omitempty"`
	Quota       *UsagePlanQuota    `json:"quota,omitempty"`
	ProductCode string             `json:"productCode,omitempty"`
	Tags        map[string]string  `json:"tags,omitzero"`
}

// UsagePlans is GetUsagePlans' output; the list is named "item" on the wire.
type UsagePlans struct {
	Items    []UsagePlan `json:"item"`
	Position string      `json:"position,omitempty"`
}

// UsagePlanTags says when a usage plan's tags member is written (spec §2.2 table).
type UsagePlanTags int

const (
	// PlanTagsNone omits tags: CreateUsagePlan without tags in the request.
	PlanTagsNone UsagePlanTags = iota
	// PlanTagsIfAny writes tags only when there are some: GetUsagePlans items.
	PlanTagsIfAny
	// PlanTagsAlways writes tags, {} when empty: GetUsagePlan, UpdateUsagePlan, and
	// CreateUsagePlan when the request supplied tags.
	PlanTagsAlways
)

// NewUsagePlan builds the wire form of a plan.
func NewUsagePlan(p *apigw.UsagePlan, tags UsagePlanTags) UsagePlan {
	out := UsagePlan{
		ID:          p.ID,
		Name:        p.Name,
		Description: p.Description,
		ProductCode: p.ProductCode,
		ApiStages:   make([]UsagePlanStage, 0, len(p.ApiStages)),
	}
	for _, st := range p.ApiStages {
		ws := UsagePlanStage{ApiID: st.ApiID, Stage: st.Stage}
		if len(st.Throttle) > 0 {
			ws.Throttle = make(map[string]UsagePlanThrottle, len(st.Throttle))
			for k, t := range st.Throttle {
				ws.Throttle[k] = newUsagePlanThrottle(t)
			}
		}
		out.ApiStages = append(out.ApiStages, ws)
	}
	if p.Throttle != nil {
		t := newUsagePlanThrottle(*p.Throttle)
		out.Throttle = &t
	}
	if p.Quota != nil {
		out.Quota = &UsagePlanQuota{Limit: p.Quota.Limit, Offset: p.Quota.Offset, Period: p.Quota.Period}
	}
	switch {
	case tags == PlanTagsAlways, tags == PlanTagsIfAny && len(p.Tags) > 0:
		out.Tags = make(map[string]string, len(p.Tags))
		for k, v := range p.Tags {
			out.Tags[k] = v
		}
	}
	return out
}

func newUsagePlanThrottle(t apigw.Throttle) UsagePlanThrottle {
	return UsagePlanThrottle{BurstLimit: t.BurstLimit, RateLimit: Double(t.RateLimit)}
}

// NewUsagePlans builds GetUsagePlans' output from one page; items omit empty tags.
func NewUsagePlans(plans []*apigw.UsagePlan, next string) UsagePlans {
	out := UsagePlans{Items: make([]UsagePlan, 0, len(plans)), Position: EncodePosition(next)}
	for _, p := range plans {
		out.Items = append(out.Items, NewUsagePlan(p, PlanTagsIfAny))
	}
	return out
}

// UsagePlanKeyTypeAPIKey is the only usage plan key type.
const UsagePlanKeyTypeAPIKey = "API_KEY"

// UsagePlanKey is the UsagePlanKey shape: a live view of the API key, value always included
// (spec §2.3), name omitted when the key has none.
type UsagePlanKey struct {
	ID    string `json:"id"`
	Type  string `json:"type"`
	Value string `json:"value"`
	Name  string `json:"name,omitempty"`
}

// UsagePlanKeys is GetUsagePlanKeys' output; the list is named "item" on the wire.
type UsagePlanKeys struct {
	Items    []UsagePlanKey `json:"item"`
	Position string         `json:"position,omitempty"`
}

// NewUsagePlanKey builds the wire form of a usage plan key from its API key.
func NewUsagePlanKey(k *apigw.ApiKey) UsagePlanKey {
	return UsagePlanKey{ID: k.ID, Type: UsagePlanKeyTypeAPIKey, Value: k.Value, Name: k.Name}
}

// NewUsagePlanKeys builds GetUsagePlanKeys' output from one page.
func NewUsagePlanKeys(keys []*apigw.ApiKey, next string) UsagePlanKeys {
	out := UsagePlanKeys{Items: make([]UsagePlanKey, 0, len(keys)), Position: EncodePosition(next)}
	for _, k := range keys {
		out.Items = append(out.Items, NewUsagePlanKey(k))
	}
	return out
}
