package control

import (
	"context"
	"errors"
	"sort"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/store"
)

// Usage plan key messages (spec §11). The 409 texts were never captured from AWS (spec §13 A3).
const (
	msgPlanKeyExists     = "Usage Plan Key already exists"
	msgPlanKeyBadType    = "Invalid key type specified: %s"
	msgPlanKeyConflict   = "API Key %s cannot be associated with usage plan %s because it is already associated with usage plan %s for stage %s:%s"
	usagePlanKeyTypeAPI  = "API_KEY"
	planKeyListBatchSize = 500
)

// CreateUsagePlanKeyInput is CreateUsagePlanKey's body.
type CreateUsagePlanKeyInput struct {
	KeyID   string `json:"keyId"`
	KeyType string `json:"keyType"`
}

// checkStageConflicts enforces "an API key is in at most one usage plan per API stage" (spec §3.6,
// §8) for associating key keyID with plan planID whose stages (or the stages being added to it)
// are stages. It returns 409 ConflictException naming the first clash found: stages in the order
// given, other plans in id order. Plan planID itself is ignored, so it can be called before or
// after the association exists.
//
// Used by CreateUsagePlanKey, UpdateUsagePlan (add /apiStages, for every key of the plan, with the
// newly added stages) and ImportApiKeys (for each imported key and listed plan). It reads the
// state visible in tx: a caller that creates several associations in one transaction must call
// it before each PutUsagePlanKey so that earlier ones are seen.
func checkStageConflicts(tx store.Tx, keyID string, planID string, stages []apigw.ApiStage) error {
	if len(stages) == 0 {
		return nil
	}
	ids, err := tx.PlanIDsOfKey(keyID)
	if err != nil {
		return err
	}
	sort.Strings(ids)
	others := make([]*apigw.UsagePlan, 0, len(ids))
	for _, id := range ids {
		if id == planID {
			continue
		}
		p, err := tx.GetUsagePlan(id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		others = append(others, p)
	}
	for _, st := range stages {
		for _, o := range others {
			if planStage(o, st.ApiID, st.Stage) >= 0 {
				return apigw.Conflict(msgPlanKeyConflict, keyID, planID, o.ID, st.ApiID, st.Stage)
			}
		}
	}
	return nil
}

// forEachPlanKey calls fn for every API key of a plan, reading the list page by page.
func forEachPlanKey(tx store.Tx, planID string, fn func(*apigw.ApiKey) error) error {
	cursor := ""
	for {
		keys, next, err := tx.ListUsagePlanKeys(planID, "", store.Page{Cursor: cursor, Limit: planKeyListBatchSize})
		if err != nil {
			return err
		}
		for _, k := range keys {
			if err := fn(k); err != nil {
				return err
			}
		}
		if next == "" {
			return nil
		}
		cursor = next
	}
}

// CreateUsagePlanKey adds an API key to a plan and returns the key (the usage plan key is a live
// view of it). Check order (spec §3.6): plan exists → key exists → keyType → not already in the
// plan → no other plan of the key shares a stage with this one.
func (s *Service) CreateUsagePlanKey(ctx context.Context, region, planID string, in CreateUsagePlanKeyInput) (*apigw.ApiKey, error) {
	var key *apigw.ApiKey
	err := s.update(ctx, region, func(tx store.Tx) error {
		p, err := getPlan(tx, planID)
		if err != nil {
			return err
		}
		k, err := tx.GetApiKey(in.KeyID)
		if err != nil {
			return notFound(err, apigw.NotFound(apigw.MsgInvalidApiKeyID))
		}
		if in.KeyType != usagePlanKeyTypeAPI {
			return apigw.BadRequest(msgPlanKeyBadType, in.KeyType)
		}
		if _, err := tx.GetUsagePlanKey(p.ID, k.ID); err == nil {
			return apigw.Conflict(msgPlanKeyExists)
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err := checkStageConflicts(tx, k.ID, p.ID, p.ApiStages); err != nil {
			return err
		}
		err = tx.PutUsagePlanKey(&apigw.UsagePlanKey{PlanID: p.ID, KeyID: k.ID, CreatedDate: s.Now()})
		if errors.Is(err, store.ErrConflict) {
			return apigw.Conflict(msgPlanKeyExists)
		}
		key = k
		return err
	})
	if err != nil {
		return nil, err
	}
	return key, nil
}

// GetUsagePlanKey returns the API key of a usage plan key. Errors (spec §3.7): an unknown key is
// "Invalid API Key identifier specified"; a known key outside the plan, or an unknown plan, is
// "Invalid Usage Plan ID specified".
func (s *Service) GetUsagePlanKey(ctx context.Context, region, planID, keyID string) (*apigw.ApiKey, error) {
	var key *apigw.ApiKey
	err := s.view(ctx, region, func(tx store.Tx) error {
		k, err := tx.GetApiKey(keyID)
		if err != nil {
			return notFound(err, apigw.NotFound(apigw.MsgInvalidApiKeyID))
		}
		if _, err := tx.GetUsagePlanKey(planID, keyID); err != nil {
			return notFound(err, apigw.NotFound(apigw.MsgInvalidUsagePlanID))
		}
		key = k
		return nil
	})
	return key, err
}

// GetUsagePlanKeys lists a plan's keys, most recently added first, filtered by a case-sensitive
// name prefix. An unknown plan yields an empty list, not a 404 (spec §3.8, [S]).
func (s *Service) GetUsagePlanKeys(ctx context.Context, region, planID, namePrefix, cursor string, limit int) (Page[*apigw.ApiKey], error) {
	var out Page[*apigw.ApiKey]
	err := s.view(ctx, region, func(tx store.Tx) error {
		var err error
		out.Items, out.Next, err = tx.ListUsagePlanKeys(planID, namePrefix, store.Page{Cursor: cursor, Limit: limit})
		return err
	})
	return out, err
}

// DeleteUsagePlanKey removes a key from a plan; the API key itself survives. Errors (spec §3.9):
// unknown plan → "Invalid Usage Plan ID specified"; key not in the plan → "Invalid API Key
// identifier specified".
func (s *Service) DeleteUsagePlanKey(ctx context.Context, region, planID, keyID string) error {
	return s.update(ctx, region, func(tx store.Tx) error {
		if _, err := getPlan(tx, planID); err != nil {
			return err
		}
		if _, err := tx.GetUsagePlanKey(planID, keyID); err != nil {
			return notFound(err, apigw.NotFound(apigw.MsgInvalidApiKeyID))
		}
		return notFound(tx.DeleteUsagePlanKey(planID, keyID), apigw.NotFound(apigw.MsgInvalidApiKeyID))
	})
}
