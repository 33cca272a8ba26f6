package mgmt

import (
	"net/http"

	"github.com/tollgate/tollgate/internal/awswire"
)

// tagRoutes serves TagResource, UntagResource and GetTags (addendum §7.4). {resource_arn} is one
// percent-encoded segment; the router decodes it after routing on the escaped path.
func (s *Server) tagRoutes() []route {
	return []route{
		{method: http.MethodPut, pattern: "/tags/{resource_arn}", op: "TagResource", h: s.tagResource},
		{method: http.MethodDelete, pattern: "/tags/{resource_arn}", op: "UntagResource", h: s.untagResource},
		{method: http.MethodGet, pattern: "/tags/{resource_arn}", op: "GetTags", h: s.getTags},
	}
}

func (s *Server) tagResource(w http.ResponseWriter, r *Request) error {
	var in struct {
		Tags map[string]string `json:"tags"`
	}
	if err := decode(r.Body, &in); err != nil {
		return err
	}
	if err := s.svc.TagResource(r.Context(), r.Region, r.Param("resource_arn"), in.Tags); err != nil {
		return err
	}
	awswire.WriteEmpty(w, http.StatusNoContent)
	return nil
}

func (s *Server) untagResource(w http.ResponseWriter, r *Request) error {
	if err := s.svc.UntagResource(r.Context(), r.Region, r.Param("resource_arn"), listQuery(r, "tagKeys")); err != nil {
		return err
	}
	awswire.WriteEmpty(w, http.StatusNoContent)
	return nil
}

// getTags ignores position/limit: a resource has at most 50 tags, so one page holds them all.
func (s *Server) getTags(w http.ResponseWriter, r *Request) error {
	tags, err := s.svc.GetTags(r.Context(), r.Region, r.Param("resource_arn"))
	if err != nil {
		return err
	}
	awswire.WriteJSON(w, http.StatusOK, awswire.ResourceTagsOf(tags))
	return nil
}
