package awswire

import "github.com/tollgate/tollgate/internal/apigw"

// API key wire shapes (spec §2.1, §2.5). Presence rules are part of the contract: value only
// where the operation shows it (always on Create, on request for Get/GetApiKeys, never on
// Update); name, description and customerId only when non-empty; stageKeys always ([] when
// none); enabled always; tags depend on the operation (ApiKeyTags).

// ApiKey is the ApiKey shape. Tags uses omitzero so a nil map is omitted while an empty non-nil
// map is written as {}.
type ApiKey struct {
	ID              string            `json:"id"`
	Value           string            `json:"value,omitempty"`
	Name            string            `json:"name,omitempty"`
	CustomerID      string            `json:"customerId,omitempty"`
	Description     string            `json:"description,omitempty"`
	Enabled         bool              `json:"enabled"`
	CreatedDate     Epoch             `json:"createdDate"`
	LastUpdatedDate Epoch             `json:"lastUpdatedDate"`
	StageKeys       []string          `json:"stageKeys"`
	Tags            map[string]string `json:"tags,omitzero"`
}

// ApiKeyTags says when an API key's tags member is written (spec §2.1 table, §13 A16).
type ApiKeyTags int

const (
	// KeyTagsNone omits tags: CreateApiKey without tags in the request.
	KeyTagsNone ApiKeyTags = iota
	// KeyTagsIfAny writes tags only when there are some: GetApiKeys items.
	KeyTagsIfAny
	// KeyTagsAlways writes tags, {} when empty: GetApiKey, UpdateApiKey, and CreateApiKey when
	// the request supplied tags.
	KeyTagsAlways
)

// NewApiKey builds the wire form of a key; withValue says whether the secret value is shown.
func NewApiKey(k *apigw.ApiKey, withValue bool, tags ApiKeyTags) ApiKey {
	out := ApiKey{
		ID:              k.ID,
		Name:            k.Name,
		CustomerID:      k.CustomerID,
		Description:     k.Description,
		Enabled:         k.Enabled,
		CreatedDate:     EpochOf(k.CreatedDate),
		LastUpdatedDate: EpochOf(k.LastUpdatedDate),
		StageKeys:       make([]string, len(k.StageKeys)),
	}
	copy(out.StageKeys, k.StageKeys)
	if withValue {
		out.Value = k.Value
	}
	if tags == KeyTagsAlways || tags == KeyTagsIfAny && len(k.Tags) > 0 {
		out.Tags = make(map[string]string, len(k.Tags))
		for n, v := range k.Tags {
			out.Tags[n] = v
		}
	}
	return out
}

// ApiKeys is GetApiKeys' output: the list is named "item" on the wire and is always present;
// the model's warnings member is never written (spec §3.15).
type ApiKeys struct {
	Items    []ApiKey `json:"item"`
	Position string   `json:"position,omitempty"`
}

// NewApiKeys builds GetApiKeys' output from one page; items omit empty tags.
func NewApiKeys(keys []*apigw.ApiKey, next string, withValues bool) ApiKeys {
	out := ApiKeys{Items: make([]ApiKey, 0, len(keys)), Position: EncodePosition(next)}
	for _, k := range keys {
		out.Items = append(out.Items, NewApiKey(k, withValues, KeyTagsIfAny))
	}
	return out
}

// ApiKeyIds is ImportApiKeys' output: ids always ([] when nothing was imported), warnings only
// when there are some (spec §13 A9).
type ApiKeyIds struct {
	IDs      []string `json:"ids"`
	Warnings []string `json:"warnings,omitempty"`
}

// NewApiKeyIds builds ImportApiKeys' output.
func NewApiKeyIds(ids, warnings []string) ApiKeyIds {
	if ids == nil {
		ids = []string{}
	}
	return ApiKeyIds{IDs: ids, Warnings: warnings}
}
