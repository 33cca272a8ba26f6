package control

import (
	"context"
	"maps"
	"strings"
	"unicode/utf8"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/store"
)

// Tag limits (addendum §7.4, from AWS's tagging documentation). The texts are Tollgate's: AWS's
// were never captured (§12 A19).
const (
	tagCountMax = 50
	tagKeyMax   = 128
	tagValueMax = 256

	msgInvalidARN = "Invalid ARN specified in the request"
)

// checkTagSet checks one request's tags against the per-tag limits.
func checkTagSet(tags map[string]string) error {
	for k, v := range tags {
		if n := utf8.RuneCountInString(k); n == 0 || n > tagKeyMax {
			return apigw.BadRequest("Tag key must be between 1 and %d characters long: %s", tagKeyMax, k)
		}
		if utf8.RuneCountInString(v) > tagValueMax {
			return apigw.BadRequest("Tag value of key %s must be at most %d characters long", k, tagValueMax)
		}
		if strings.HasPrefix(strings.ToLower(k), "aws:") {
			return apigw.BadRequest("Tag keys starting with 'aws:' are reserved for AWS use: %s", k)
		}
	}
	if len(tags) > tagCountMax {
		return errTooManyTags()
	}
	return nil
}

func errTooManyTags() error {
	return apigw.BadRequest("Too many tags: a resource can have at most %d tags", tagCountMax)
}

// tagsMerged returns have with add applied, refusing a result over the 50-tag limit; nil when
// the result is empty, so "no tags" is stored one way only.
func tagsMerged(have, add map[string]string) (map[string]string, error) {
	out := maps.Clone(have)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, add)
	if len(out) > tagCountMax {
		return nil, errTooManyTags()
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// tagsWithout returns have without keys; nil when nothing is left.
func tagsWithout(have map[string]string, keys []string) map[string]string {
	out := maps.Clone(have)
	for _, k := range keys {
		delete(out, k)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// tagTarget is the resource a tag ARN names.
type tagTarget struct {
	kind  string // "restapis", "apikeys" or "usageplans"
	id    string
	stage string // set for a stage: arn:…::/restapis/<id>/stages/<name>
}

// parseTagARN reads arn:<partition>:apigateway:<region>::/<type>/<id>[/stages/<name>]. API
// Gateway ARNs carry no account. An ARN of another region names nothing this request can
// reach, and resource types Tollgate does not model (domain names, client certificates, VPC
// links) cannot be tagged here: both are refused as invalid ARNs.
func parseTagARN(arn, region string) (tagTarget, error) {
	bad := apigw.BadRequest(msgInvalidARN)
	f := strings.SplitN(arn, ":", 6)
	if len(f) != 6 || f[0] != "arn" || !strings.HasPrefix(f[1], "aws") || f[2] != "apigateway" || f[4] != "" {
		return tagTarget{}, bad
	}
	if f[3] != region {
		return tagTarget{}, bad
	}
	segs := strings.Split(f[5], "/")
	if len(segs) < 3 || segs[0] != "" {
		return tagTarget{}, bad
	}
	segs = segs[1:]
	for _, s := range segs {
		if s == "" {
			return tagTarget{}, bad
		}
	}
	switch {
	case len(segs) == 2 && (segs[0] == "restapis" || segs[0] == "apikeys" || segs[0] == "usageplans"):
		return tagTarget{kind: segs[0], id: segs[1]}, nil
	case len(segs) == 4 && segs[0] == "restapis" && segs[2] == "stages":
		return tagTarget{kind: segs[0], id: segs[1], stage: segs[3]}, nil
	}
	return tagTarget{}, bad
}

// taggable loads the resource t names and returns its tags with a function that stores new
// ones on it (one read-modify-write through the store's Rev check).
func (s *Service) taggable(tx store.Tx, t tagTarget) (map[string]string, func(map[string]string) error, error) {
	switch {
	case t.stage != "":
		st, err := tx.GetStage(t.id, t.stage)
		if err != nil {
			return nil, nil, notFound(err, apigw.NotFound(apigw.MsgInvalidStage))
		}
		return st.Tags, func(tags map[string]string) error { st.Tags = tags; return tx.PutStage(st) }, nil
	case t.kind == "restapis":
		api, err := tx.GetRestApi(t.id)
		if err != nil {
			return nil, nil, notFound(err, apigw.InvalidAPI(s.cfg.AccountID, t.id))
		}
		return api.Tags, func(tags map[string]string) error { api.Tags = tags; return tx.PutRestApi(api) }, nil
	case t.kind == "apikeys":
		k, err := tx.GetApiKey(t.id)
		if err != nil {
			return nil, nil, notFound(err, apigw.NotFound(apigw.MsgInvalidApiKeyID))
		}
		return k.Tags, func(tags map[string]string) error { k.Tags = tags; return tx.PutApiKey(k) }, nil
	}
	p, err := tx.GetUsagePlan(t.id)
	if err != nil {
		return nil, nil, notFound(err, apigw.NotFound(apigw.MsgInvalidUsagePlanID))
	}
	return p.Tags, func(tags map[string]string) error { p.Tags = tags; return tx.PutUsagePlan(p) }, nil
}

// TagResource adds or overwrites tags on the resource an ARN names (addendum §7.4).
func (s *Service) TagResource(ctx context.Context, region, arn string, tags map[string]string) error {
	t, err := parseTagARN(arn, region)
	if err != nil {
		return err
	}
	if err := checkTagSet(tags); err != nil {
		return err
	}
	return s.update(ctx, region, func(tx store.Tx) error {
		have, save, err := s.taggable(tx, t)
		if err != nil {
			return err
		}
		merged, err := tagsMerged(have, tags)
		if err != nil {
			return err
		}
		return save(merged)
	})
}

// UntagResource removes tags by key; keys that are not set are ignored.
func (s *Service) UntagResource(ctx context.Context, region, arn string, keys []string) error {
	t, err := parseTagARN(arn, region)
	if err != nil {
		return err
	}
	return s.update(ctx, region, func(tx store.Tx) error {
		have, save, err := s.taggable(tx, t)
		if err != nil {
			return err
		}
		return save(tagsWithout(have, keys))
	})
}

// GetTags returns the tags set on the resource itself (inherited API tags are not a stage's).
// The result is never nil.
func (s *Service) GetTags(ctx context.Context, region, arn string) (map[string]string, error) {
	t, err := parseTagARN(arn, region)
	if err != nil {
		return nil, err
	}
	var out map[string]string
	err = s.view(ctx, region, func(tx store.Tx) error {
		have, _, err := s.taggable(tx, t)
		out = maps.Clone(have)
		return err
	})
	if out == nil && err == nil {
		out = map[string]string{}
	}
	return out, err
}
