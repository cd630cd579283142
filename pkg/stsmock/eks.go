package stsmock

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/irsa-local/irsa-local/internal/awsquery"
	"github.com/irsa-local/irsa-local/internal/sigv4"
)

// EKSCluster describes the environment's cluster as EKS DescribeCluster
// reports it.
type EKSCluster struct {
	Name string
	// Version is the Kubernetes minor version, e.g. "1.37".
	Version string
	// PatchVersion is the full Kubernetes version, e.g. "1.37.2".
	PatchVersion string
	// IssuerURL is cluster.identity.oidc.issuer.
	IssuerURL string
	// Endpoint is the Kubernetes API server URL.
	Endpoint string
	// CertificateAuthority is the PEM CA of the API server.
	CertificateAuthority []byte
	CreatedAt            time.Time
}

func (c *EKSCluster) arn(region, account string) string {
	return "arn:aws:eks:" + region + ":" + account + ":cluster/" + c.Name
}

// serveEKS answers the REST-JSON EKS calls clients make to learn a
// cluster's issuer: DescribeCluster, ListClusters, DescribeClusterVersions,
// and TagResource/ListTagsForResource (eksctl tags the cluster after
// associating its OIDC provider).
// maxEKSBody bounds an EKS request body; the largest EKS call served here
// (TagResource with 50 tags) is a few KiB.
const maxEKSBody = 1 << 20

func (s *Server) serveEKS(w http.ResponseWriter, req *request) {
	r := req.r
	// The signature check reads the body into memory: bound it first.
	if r.ContentLength > maxEKSBody {
		writeEKSError(w, req.id, http.StatusRequestEntityTooLarge, "InvalidParameterException", "The request body exceeds 1 MiB")
		return
	}
	if r.Body != nil {
		r.Body = http.MaxBytesReader(w, r.Body, maxEKSBody)
	}
	c, err := s.verify(r)
	if err != nil {
		wire, ok := sigv4.ToWire(err, sigv4.ProtocolJSON)
		if !ok {
			wire = sigv4.WireError{Code: "ServerException", Status: 500, Message: err.Error()}
		}
		writeEKSError(w, req.id, wire.Status, wire.Code, wire.Message)
		return
	}
	req.caller = c
	path := r.URL.EscapedPath()
	switch {
	case r.Method == http.MethodGet && path == "/clusters":
		s.eksAuthorized(w, req, "eks:ListClusters", "*", func() (int, any) {
			names := []string{}
			if s.cluster != nil {
				names = append(names, s.cluster.Name)
			}
			return 200, map[string]any{"clusters": names}
		})
	case r.Method == http.MethodGet && strings.HasPrefix(path, "/clusters/") && !strings.Contains(path[len("/clusters/"):], "/"):
		name, _ := url.PathUnescape(path[len("/clusters/"):])
		s.eksAuthorized(w, req, "eks:DescribeCluster", "arn:aws:eks:"+s.region+":"+s.account+":cluster/"+name, func() (int, any) {
			if s.cluster == nil || s.cluster.Name != name {
				return 404, eksError{"ResourceNotFoundException", "No cluster found for name: " + awsquery.Truncate(name, awsquery.MaxEchoed) + "."}
			}
			return 200, map[string]any{"cluster": s.describeCluster()}
		})
	case r.Method == http.MethodGet && path == "/cluster-versions":
		s.eksAuthorized(w, req, "eks:DescribeClusterVersions", "*", func() (int, any) {
			return 200, map[string]any{"clusterVersions": s.clusterVersions()}
		})
	case strings.HasPrefix(path, "/clusters/") && strings.Contains(path, "/pod-identity-associations"):
		cluster, rest, _ := strings.Cut(path[len("/clusters/"):], "/")
		cluster, _ = url.PathUnescape(cluster)
		id, ok := strings.CutPrefix(rest, "pod-identity-associations")
		if ok && (id == "" || (strings.HasPrefix(id, "/") && !strings.Contains(id[1:], "/"))) {
			id, _ = url.PathUnescape(strings.TrimPrefix(id, "/"))
			s.servePodIdentity(w, req, cluster, id)
			return
		}
		writeEKSError(w, req.id, 404, "NotFoundException", "irsa-local's EKS endpoint does not serve "+r.Method+" "+awsquery.Truncate(path, awsquery.MaxEchoed))
	case strings.HasPrefix(path, "/clusters/") && strings.Contains(path, "/addons"):
		cluster, rest, _ := strings.Cut(path[len("/clusters/"):], "/")
		cluster, _ = url.PathUnescape(cluster)
		name, ok := strings.CutPrefix(rest, "addons")
		if ok && (name == "" || (strings.HasPrefix(name, "/") && !strings.Contains(name[1:], "/"))) {
			name, _ = url.PathUnescape(strings.TrimPrefix(name, "/"))
			s.serveAddons(w, req, cluster, name)
			return
		}
		writeEKSError(w, req.id, 404, "NotFoundException", "irsa-local's EKS endpoint does not serve "+r.Method+" "+awsquery.Truncate(path, awsquery.MaxEchoed))
	case strings.HasPrefix(path, "/tags/"):
		arn, _ := url.PathUnescape(path[len("/tags/"):])
		s.serveEKSTags(w, req, arn)
	default:
		writeEKSError(w, req.id, 404, "NotFoundException", "irsa-local's EKS endpoint does not serve "+r.Method+" "+awsquery.Truncate(path, awsquery.MaxEchoed))
	}
}

type eksError struct{ code, message string }

func (s *Server) describeCluster() map[string]any {
	c := s.cluster
	version := c.Version
	if version == "" {
		version = "1.37"
	}
	endpoint := c.Endpoint
	if endpoint == "" {
		// No cluster runs (--cluster none): eksctl dereferences the field,
		// so it names the loopback rather than being absent.
		endpoint = "https://127.0.0.1"
	}
	s.base.mu.RLock()
	tags := map[string]string{}
	for k, v := range s.base.ClusterTags {
		tags[k] = v
	}
	s.base.mu.RUnlock()
	return map[string]any{
		"name":      c.Name,
		"arn":       c.arn(s.region, s.account),
		"createdAt": float64(c.CreatedAt.UnixMilli()) / 1000,
		"version":   version,
		"endpoint":  endpoint,
		"roleArn":   "arn:aws:iam::" + s.account + ":role/" + c.Name + "-cluster",
		"resourcesVpcConfig": map[string]any{
			"subnetIds": []string{}, "securityGroupIds": []string{}, "clusterSecurityGroupId": "sg-00000000000000000",
			"vpcId": "vpc-00000000000000000", "endpointPublicAccess": true, "endpointPrivateAccess": false,
			"publicAccessCidrs": []string{"0.0.0.0/0"},
		},
		"kubernetesNetworkConfig": map[string]any{"serviceIpv4Cidr": "10.96.0.0/12", "ipFamily": "ipv4"},
		"logging":                 map[string]any{"clusterLogging": []any{map[string]any{"types": []string{"api", "audit", "authenticator", "controllerManager", "scheduler"}, "enabled": false}}},
		"identity":                map[string]any{"oidc": map[string]any{"issuer": c.IssuerURL}},
		"status":                  "ACTIVE",
		"certificateAuthority":    map[string]any{"data": base64.StdEncoding.EncodeToString(c.CertificateAuthority)},
		"platformVersion":         "eks.1",
		"tags":                    tags,
		"accessConfig":            map[string]any{"authenticationMode": "API_AND_CONFIG_MAP"},
		"upgradePolicy":           map[string]any{"supportType": "STANDARD"},
	}
}

func (s *Server) clusterVersions() []map[string]any {
	v := "1.37"
	patch := "1.37.2"
	if s.cluster != nil && s.cluster.Version != "" {
		v = s.cluster.Version
	}
	if s.cluster != nil && s.cluster.PatchVersion != "" {
		patch = s.cluster.PatchVersion
	}
	return []map[string]any{{
		"clusterVersion": v, "clusterType": "eks", "defaultPlatformVersion": "eks.1", "defaultVersion": true,
		"status": "STANDARD_SUPPORT", "versionStatus": "STANDARD_SUPPORT", "kubernetesPatchVersion": patch,
	}}
}

func (s *Server) serveEKSTags(w http.ResponseWriter, req *request, arn string) {
	r := req.r
	// Authorized first, as EKS does: a caller without permission learns
	// nothing about which clusters exist.
	exists := func() bool { return s.cluster != nil && arn == s.cluster.arn(s.region, s.account) }
	notFound := eksError{"ResourceNotFoundException", "No cluster found for arn: " + awsquery.Truncate(arn, awsquery.MaxEchoed) + "."}
	change := s.updateClusterTags
	get := func() map[string]string { return s.describeCluster()["tags"].(map[string]string) }
	if s.cluster != nil && strings.HasPrefix(arn, s.associationARN("")) {
		// An association's tags.
		id := strings.TrimPrefix(arn, s.associationARN(""))
		exists = func() bool { _, e := s.findAssociation(id); return e == nil }
		notFound = associationNotFound(id)
		change = func(f func(map[string]string)) (int, any) { return s.updateAssociationTags(id, f) }
		get = func() map[string]string { a, _ := s.findAssociation(id); return nonNilTags(a.Tags) }
	}
	switch r.Method {
	case http.MethodGet:
		s.eksAuthorized(w, req, "eks:ListTagsForResource", arn, func() (int, any) {
			if !exists() {
				return 404, notFound
			}
			return 200, map[string]any{"tags": get()}
		})
	case http.MethodPost:
		var body struct {
			Tags map[string]string `json:"tags"`
		}
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&body); err != nil {
			writeEKSError(w, req.id, 400, "InvalidParameterException", "The request body is not valid JSON: "+awsquery.Truncate(err.Error(), awsquery.MaxEchoed))
			return
		}
		s.eksAuthorized(w, req, "eks:TagResource", arn, func() (int, any) {
			if !exists() {
				return 404, notFound
			}
			return change(func(tags map[string]string) {
				for k, v := range body.Tags {
					tags[k] = v
				}
			})
		})
	case http.MethodDelete:
		keys := r.URL.Query()["tagKeys"]
		s.eksAuthorized(w, req, "eks:UntagResource", arn, func() (int, any) {
			if !exists() {
				return 404, notFound
			}
			return change(func(tags map[string]string) {
				for _, k := range keys {
					delete(tags, k)
				}
			})
		})
	default:
		writeEKSError(w, req.id, 405, "InvalidRequestException", "Method not allowed")
	}
}

// updateClusterTags changes the cluster's tags and saves them.
func (s *Server) updateClusterTags(change func(map[string]string)) (int, any) {
	s.base.mu.Lock()
	change(s.base.ClusterTags)
	err := s.base.save()
	s.base.mu.Unlock()
	if err != nil {
		s.log.Error("save cluster tags", "err", err)
		return 500, eksError{"ServerException", "saving the cluster's tags failed; see the environment's log"}
	}
	return 200, map[string]any{}
}

func writeEKSJSON(w http.ResponseWriter, requestID string, status int, v any) {
	b, _ := json.Marshal(v)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("x-amzn-RequestId", requestID)
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeEKSError writes a REST-JSON error: the code in x-amzn-ErrorType and
// the message in the body's "message".
func writeEKSError(w http.ResponseWriter, requestID string, status int, code, msg string) {
	w.Header().Set("x-amzn-ErrorType", code)
	writeEKSJSON(w, requestID, status, map[string]string{"message": msg})
}
