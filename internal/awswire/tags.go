package awswire

// ResourceTags is GetTags' output: {"tags":{…}}, {} when the resource has none.
type ResourceTags struct {
	Tags map[string]string `json:"tags"`
}

// ResourceTagsOf builds GetTags' output.
func ResourceTagsOf(tags map[string]string) ResourceTags {
	if tags == nil {
		tags = map[string]string{}
	}
	return ResourceTags{Tags: tags}
}
