package stsmock

import "github.com/irsa-local/irsa-local/internal/awsquery"

// Tags of roles and OIDC providers: Tag*, Untag* and List*Tags.

func readTags(p awsquery.Params) ([]tag, *awsquery.Error) {
	var tags []tag
	for _, m := range p.StructList("Tags", "Key", "Value") {
		if m["Key"] == "" {
			return nil, awsquery.Errorf(400, "InvalidInput", "Tag keys must not be empty.")
		}
		tags = append(tags, tag{Key: m["Key"], Value: m["Value"]})
	}
	if len(tags) > 50 {
		return nil, awsquery.Errorf(400, "LimitExceeded", "The number of tags has reached the maximum limit.")
	}
	return tags, nil
}

// mergeTags adds or replaces tags by key.
func mergeTags(have, add []tag) []tag {
	for _, t := range add {
		replaced := false
		for i := range have {
			if have[i].Key == t.Key {
				have[i].Value, replaced = t.Value, true
			}
		}
		if !replaced {
			have = append(have, t)
		}
	}
	return have
}

func removeTags(have []tag, keys []string) []tag {
	out := have[:0]
	for _, t := range have {
		if !contains(keys, t.Key) {
			out = append(out, t)
		}
	}
	return out
}

// tagsOf finds the tags of the entity a request names.
type tagsOf func(s *Server, p awsquery.Params) (*[]tag, *awsquery.Error)

func providerTags(s *Server, p awsquery.Params) (*[]tag, *awsquery.Error) {
	prov, _, e := s.provider(p)
	if e != nil {
		return nil, e
	}
	return &prov.Tags, nil
}

func roleTags(s *Server, p awsquery.Params) (*[]tag, *awsquery.Error) {
	r, e := s.role(p)
	if e != nil {
		return nil, e
	}
	return &r.Tags, nil
}

// tagOp, untagOp and listTagsOp are Tag*, Untag* and List*Tags for every
// taggable IAM entity.
func tagOp(find tagsOf) func(*Server, awsquery.Params) (any, *awsquery.Error) {
	return func(s *Server, p awsquery.Params) (any, *awsquery.Error) {
		tags, e := find(s, p)
		if e != nil {
			return nil, e
		}
		add, e := readTags(p)
		if e != nil {
			return nil, e
		}
		*tags = mergeTags(*tags, add)
		return nil, nil
	}
}

func untagOp(find tagsOf) func(*Server, awsquery.Params) (any, *awsquery.Error) {
	return func(s *Server, p awsquery.Params) (any, *awsquery.Error) {
		tags, e := find(s, p)
		if e != nil {
			return nil, e
		}
		*tags = removeTags(*tags, p.List("TagKeys"))
		return nil, nil
	}
}

func listTagsOp(find tagsOf) func(*Server, awsquery.Params) (any, *awsquery.Error) {
	return func(s *Server, p awsquery.Params) (any, *awsquery.Error) {
		tags, e := find(s, p)
		if e != nil {
			return nil, e
		}
		return &listTagsResult{Tags: *tags}, nil
	}
}

type listTagsResult struct {
	Tags        []tag `xml:"Tags>member"`
	IsTruncated bool  `xml:"IsTruncated"`
}
