package control

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/apigw/patch"
	"github.com/tollgate/tollgate/internal/keyimport"
	"github.com/tollgate/tollgate/internal/store"
)

// API key messages (spec §11). The field-rule texts live in keyimport, which applies the same
// rules to imported rows.
const (
	msgApiKeyExists       = "API Key already exists"
	msgApiKeyBadStageKey  = "Invalid stage key specified: %s. Stage keys have the form {restApiId}/{stageName}" // [R]
	apiKeyStagesPatchPath = "/stages"
	// apiKeyIDAttempts bounds the retries on an id collision (ids are random; collisions are rare).
	apiKeyIDAttempts = 5
)

// apiKeyReplacePaths is the list AWS prints for a bad replace path, in AWS's order [S].
var apiKeyReplacePaths = []string{"/description", "/enabled", "/name", "/customerId"}

// StageKeyInput is one legacy stageKeys entry of CreateApiKey.
type StageKeyInput struct {
	RestApiID string `json:"restApiId"`
	StageName string `json:"stageName"`
}

// CreateApiKeyInput is CreateApiKey's body (spec §3.13). Tags is nil when the request had no tags
// member, which decides whether the response shows tags. GenerateDistinctID is deprecated and
// ignored: ids are always distinct 10-character ids.
type CreateApiKeyInput struct {
	Name               string            `json:"name"`
	Description        string            `json:"description"`
	Enabled            bool              `json:"enabled"`
	GenerateDistinctID bool              `json:"generateDistinctId"`
	Value              string            `json:"value"`
	StageKeys          []StageKeyInput   `json:"stageKeys"`
	CustomerID         string            `json:"customerId"`
	Tags               map[string]string `json:"tags"`
}

// CreateApiKey creates a key, generating its value when none (or "") is given. Checks run in
// AWS's order: name length, value length, description length, then (in the store) a duplicate
// value, which is a 409 because "two API keys are identical if they have the same value".
func (s *Service) CreateApiKey(ctx context.Context, region string, in CreateApiKeyInput) (*apigw.ApiKey, error) {
	if err := keyimport.CheckName(in.Name); err != nil {
		return nil, err
	}
	if in.Value != "" {
		if err := keyimport.CheckValue(in.Value); err != nil {
			return nil, err
		}
	}
	if err := keyimport.CheckDescription(in.Description); err != nil {
		return nil, err
	}
	if err := checkTagSet(in.Tags); err != nil {
		return nil, err
	}
	var stageKeys []string
	for _, sk := range in.StageKeys {
		v := sk.RestApiID + "/" + sk.StageName
		if sk.RestApiID == "" || sk.StageName == "" || strings.Contains(sk.RestApiID, "/") {
			return nil, apigw.BadRequest(msgApiKeyBadStageKey, v)
		}
		if !slices.Contains(stageKeys, v) {
			stageKeys = append(stageKeys, v)
		}
	}
	now := s.Now()
	k := &apigw.ApiKey{
		Value:           in.Value,
		Name:            in.Name,
		CustomerID:      in.CustomerID,
		Description:     in.Description,
		Enabled:         in.Enabled,
		CreatedDate:     now,
		LastUpdatedDate: now,
		StageKeys:       stageKeys,
		Tags:            maps.Clone(in.Tags),
	}
	if len(k.Tags) == 0 {
		k.Tags = nil
	}
	if k.Value == "" {
		k.Value = apigw.NewApiKeyValue()
	}
	err := s.update(ctx, region, func(tx store.Tx) error {
		if _, err := tx.GetApiKeyByValue(k.Value); err == nil {
			return apigw.Conflict(msgApiKeyExists)
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return insertApiKey(tx, k)
	})
	if err != nil {
		return nil, err
	}
	return k, nil
}

// insertApiKey stores a new key under a fresh id. The caller has checked that the value is free;
// a conflict on insert is then an id collision (ids are unique across regions) and is retried
// with another id, unless the value turns out to be taken after all.
func insertApiKey(tx store.Tx, k *apigw.ApiKey) error {
	for range apiKeyIDAttempts {
		k.ID = apigw.NewID(apigw.ApiKeyIDLen)
		k.Rev = 0
		err := tx.PutApiKey(k)
		if !errors.Is(err, store.ErrConflict) {
			return err
		}
		if _, verr := tx.GetApiKeyByValue(k.Value); verr == nil {
			return apigw.Conflict(msgApiKeyExists)
		}
	}
	return errors.New("control: could not find a free API key id")
}

// apiKeyByID reads a key, mapping a missing one to AWS's 404.
func apiKeyByID(tx store.Tx, id string) (*apigw.ApiKey, error) {
	k, err := tx.GetApiKey(id)
	if err != nil {
		return nil, notFound(err, apigw.NotFound(apigw.MsgInvalidApiKeyID))
	}
	return k, nil
}

// GetApiKey returns one key. Whether the value is shown is the wire's business (includeValue).
func (s *Service) GetApiKey(ctx context.Context, region, id string) (*apigw.ApiKey, error) {
	var k *apigw.ApiKey
	err := s.view(ctx, region, func(tx store.Tx) error {
		var err error
		k, err = apiKeyByID(tx, id)
		return err
	})
	return k, err
}

// GetApiKeys lists keys newest first, filtered by a case-sensitive name prefix and an exact
// customer id (spec §3.15).
func (s *Service) GetApiKeys(ctx context.Context, region string, f store.ApiKeyFilter, cursor string, limit int) (Page[*apigw.ApiKey], error) {
	var out Page[*apigw.ApiKey]
	err := s.view(ctx, region, func(tx store.Tx) error {
		var err error
		out.Items, out.Next, err = tx.ListApiKeys(f, store.Page{Cursor: cursor, Limit: limit})
		return err
	})
	return out, err
}

// UpdateApiKey applies patch operations (spec §3.16) in order to a copy of the key and stores the
// copy only if every operation succeeded. An empty operation list changes nothing (not even
// lastUpdatedDate).
func (s *Service) UpdateApiKey(ctx context.Context, region, id string, ops []patch.Op) (*apigw.ApiKey, error) {
	var out *apigw.ApiKey
	err := s.update(ctx, region, func(tx store.Tx) error {
		k, err := apiKeyByID(tx, id)
		if err != nil {
			return err
		}
		if len(ops) == 0 {
			out = k
			return nil
		}
		c := cloneApiKey(k)
		for _, op := range ops {
			if err := applyApiKeyOp(c, op); err != nil {
				return err
			}
		}
		c.LastUpdatedDate = s.Now()
		if err := tx.PutApiKey(c); err != nil {
			return err
		}
		out = c
		return nil
	})
	return out, err
}

// applyApiKeyOp is UpdateApiKey's patch table: replace /name /description /enabled /customerId;
// add/remove the legacy /stages. The value can never change.
func applyApiKeyOp(k *apigw.ApiKey, op patch.Op) error {
	switch op.Op {
	case "replace":
		switch op.Path {
		case "/name":
			if err := keyimport.CheckName(op.V()); err != nil {
				return err
			}
			k.Name = op.V()
		case "/description":
			if err := keyimport.CheckDescription(op.V()); err != nil {
				return err
			}
			k.Description = op.V()
		case "/enabled":
			// AWS: "true" in any case enables, any other text disables, never an error [S].
			k.Enabled = patch.ParseBool(op.V())
		case "/customerId":
			k.CustomerID = op.V()
		default:
			return patch.InvalidPath(op.Path, op.Op, apiKeyReplacePaths)
		}
	case "add", "remove":
		if op.Path != apiKeyStagesPatchPath {
			return patch.InvalidPath(op.Path, op.Op, []string{apiKeyStagesPatchPath})
		}
		v := op.V()
		api, stage, ok := strings.Cut(v, "/")
		if !ok || api == "" || stage == "" || strings.Contains(stage, "/") {
			return apigw.BadRequest(msgApiKeyBadStageKey, v)
		}
		i := slices.Index(k.StageKeys, v)
		switch {
		case op.Op == "add" && i < 0:
			k.StageKeys = append(k.StageKeys, v)
		case op.Op == "remove" && i >= 0:
			k.StageKeys = slices.Delete(k.StageKeys, i, i+1)
		}
	default:
		return patch.InvalidPath(op.Path, op.Op, nil)
	}
	return nil
}

func cloneApiKey(k *apigw.ApiKey) *apigw.ApiKey {
	c := *k
	c.StageKeys = slices.Clone(k.StageKeys)
	c.Tags = maps.Clone(k.Tags)
	return &c
}

// DeleteApiKey deletes a key; the store removes its usage plan keys with it (spec §3.17, §8).
func (s *Service) DeleteApiKey(ctx context.Context, region, id string) error {
	return s.update(ctx, region, func(tx store.Tx) error {
		if _, err := apiKeyByID(tx, id); err != nil {
			return err
		}
		return notFound(tx.DeleteApiKey(id), apigw.NotFound(apigw.MsgInvalidApiKeyID))
	})
}
