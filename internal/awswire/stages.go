package awswire

import "github.com/tollgate/tollgate/internal/apigw"

// Cache cluster states shown on a stage (Tollgate has no cache: the state follows the flag).
const (
	CacheClusterAvailable    = "AVAILABLE"
	CacheClusterNotAvailable = "NOT_AVAILABLE"
)

// Stage is the Stage shape (addendum §2.8). Always present: stageName, deploymentId,
// cacheClusterEnabled, cacheClusterStatus, methodSettings ({} when none), tracingEnabled and
// both dates. Everything else only when set; in particular a stage without tags has no tags
// member in any stage operation.
type Stage struct {
	DeploymentID         string                   `json:"deploymentId"`
	ClientCertificateID  string                   `json:"clientCertificateId,omitempty"`
	StageName            string                   `json:"stageName"`
	Description          string                   `json:"description,omitempty"`
	CacheClusterEnabled  bool                     `json:"cacheClusterEnabled"`
	CacheClusterSize     string                   `json:"cacheClusterSize,omitempty"`
	CacheClusterStatus   string                   `json:"cacheClusterStatus"`
	MethodSettings       map[string]MethodSetting `json:"methodSettings"`
	Variables            map[string]string        `json:"variables,omitempty"`
	DocumentationVersion string                   `json:"documentationVersion,omitempty"`
	AccessLogSettings    *AccessLogSettings       `json:"accessLogSettings,omitempty"`
	TracingEnabled       bool                     `json:"tracingEnabled"`
	Tags                 map[string]string        `json:"tags,omitempty"`
	CreatedDate          Epoch                    `json:"createdDate"`
	LastUpdatedDate      Epoch                    `json:"lastUpdatedDate"`
}

// MethodSetting is one methodSettings value; loggingLevel appears only once set and
// throttlingRateLimit keeps its fractional part (10000.0).
type MethodSetting struct {
	MetricsEnabled                         bool   `json:"metricsEnabled"`
	LoggingLevel                           string `json:"loggingLevel,omitempty"`
	DataTraceEnabled                       bool   `json:"dataTraceEnabled"`
	ThrottlingBurstLimit                   int64  `json:"throttlingBurstLimit"`
	ThrottlingRateLimit                    Double `json:"throttlingRateLimit"`
	CachingEnabled                         bool   `json:"cachingEnabled"`
	CacheTTLInSeconds                      int64  `json:"cacheTtlInSeconds"`
	CacheDataEncrypted                     bool   `json:"cacheDataEncrypted"`
	RequireAuthorizationForCacheControl    bool   `json:"requireAuthorizationForCacheControl"`
	UnauthorizedCacheControlHeaderStrategy string `json:"unauthorizedCacheControlHeaderStrategy"`
}

// AccessLogSettings of a stage; present only while one of its fields is set.
type AccessLogSettings struct {
	Format         string `json:"format,omitempty"`
	DestinationArn string `json:"destinationArn,omitempty"`
}

// Stages is GetStages' output. The model names the list "item" (not "items"), so SDK users
// see item too; the operation is not paginated.
type Stages struct {
	Item []Stage `json:"item"`
}

// StageOf builds the wire form of a stage.
func StageOf(s *apigw.Stage) Stage {
	out := Stage{
		DeploymentID:         s.DeploymentID,
		ClientCertificateID:  s.ClientCertificateID,
		StageName:            s.StageName,
		Description:          s.Description,
		CacheClusterEnabled:  s.CacheClusterEnabled,
		CacheClusterSize:     s.CacheClusterSize,
		CacheClusterStatus:   CacheClusterNotAvailable,
		MethodSettings:       make(map[string]MethodSetting, len(s.MethodSettings)),
		DocumentationVersion: s.DocumentationVersion,
		TracingEnabled:       s.TracingEnabled,
		CreatedDate:          EpochOf(s.CreatedDate),
		LastUpdatedDate:      EpochOf(s.LastUpdatedDate),
	}
	if s.CacheClusterEnabled {
		out.CacheClusterStatus = CacheClusterAvailable
	}
	for k, m := range s.MethodSettings {
		out.MethodSettings[k] = MethodSetting{
			MetricsEnabled:                         m.MetricsEnabled,
			LoggingLevel:                           m.LoggingLevel,
			DataTraceEnabled:                       m.DataTraceEnabled,
			ThrottlingBurstLimit:                   m.ThrottlingBurstLimit,
			ThrottlingRateLimit:                    Double(m.ThrottlingRateLimit),
			CachingEnabled:                         m.CachingEnabled,
			CacheTTLInSeconds:                      m.CacheTTLInSeconds,
			CacheDataEncrypted:                     m.CacheDataEncrypted,
			RequireAuthorizationForCacheControl:    m.RequireAuthorizationForCacheControl,
			UnauthorizedCacheControlHeaderStrategy: m.UnauthorizedCacheControlHeaderStrategy,
		}
	}
	if len(s.Variables) > 0 {
		out.Variables = s.Variables
	}
	if a := s.AccessLogSettings; a != nil && (a.Format != "" || a.DestinationArn != "") {
		out.AccessLogSettings = &AccessLogSettings{Format: a.Format, DestinationArn: a.DestinationArn}
	}
	if len(s.Tags) > 0 {
		out.Tags = s.Tags
	}
	return out
}

// StagesOf builds GetStages' output; the list is [] (never null) when empty.
func StagesOf(ss []*apigw.Stage) Stages {
	out := Stages{Item: make([]Stage, 0, len(ss))}
	for _, s := range ss {
		out.Item = append(out.Item, StageOf(s))
	}
	return out
}
