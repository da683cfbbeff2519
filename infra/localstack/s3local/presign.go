package s3local

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Query-string (presigned URL) authentication, Signature Version 4, as S3 checks it.
const (
	presignAlgorithm = "AWS4-HMAC-SHA256"
	presignDate      = "20060102T150405Z"
	// maxPresignExpires is S3's limit on X-Amz-Expires: seven days.
	maxPresignExpires = 7 * 24 * 60 * 60
)

// isPresigned reports whether r authenticates in its query string, as a presigned URL does.
func isPresigned(r *http.Request) bool {
	q := r.URL.Query()
	return q.Has("X-Amz-Signature") || q.Has("X-Amz-Algorithm") || q.Has("X-Amz-Credential")
}

// checkPresigned checks a presigned request as S3 does: every query-string authentication
// parameter present and well formed, the URL not expired (403 AccessDenied "Request has
// expired"), and, when the server knows credentials, the access key known (403
// InvalidAccessKeyId), the signature the one its secret makes over the request (403
// SignatureDoesNotMatch), and no x-amz-meta-* header sent that the signature does not cover
// (403 AccessDenied). Without credentials it checks all but the signature.
func (s *Server) checkPresigned(r *http.Request) error {
	q := r.URL.Query()
	for _, p := range []string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Expires"} {
		if q.Get(p) == "" {
			return newError(http.StatusBadRequest, "AuthorizationQueryParametersError",
				"Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.")
		}
	}
	if q.Get("X-Amz-Algorithm") != presignAlgorithm {
		return newError(http.StatusBadRequest, "AuthorizationQueryParametersError", "X-Amz-Algorithm only supports \"%s\"", presignAlgorithm)
	}
	signedAt, err := time.Parse(presignDate, q.Get("X-Amz-Date"))
	if err != nil {
		return newError(http.StatusBadRequest, "AuthorizationQueryParametersError", "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
	}
	expires, err := strconv.Atoi(q.Get("X-Amz-Expires"))
	switch {
	case err != nil || expires < 0:
		return newError(http.StatusBadRequest, "AuthorizationQueryParametersError", "X-Amz-Expires should be a number of seconds, at least 0")
	case expires > maxPresignExpires:
		return newError(http.StatusBadRequest, "AuthorizationQueryParametersError", "X-Amz-Expires must be less than a week (in seconds) that is; %d", maxPresignExpires)
	}
	if s.now().After(signedAt.Add(time.Duration(expires) * time.Second)) {
		return newError(http.StatusForbidden, "AccessDenied", "Request has expired")
	}
	scope := strings.Split(q.Get("X-Amz-Credential"), "/")
	if len(scope) != 5 || scope[0] == "" || scope[3] != "s3" || scope[4] != "aws4_request" || scope[1] != signedAt.Format("20060102") {
		return newError(http.StatusBadRequest, "AuthorizationQueryParametersError",
			"Error parsing the X-Amz-Credential parameter; it must be <access key>/<yyyyMMdd of X-Amz-Date>/<region>/s3/aws4_request")
	}
	if scope[2] != s.opts.Region {
		return newError(http.StatusBadRequest, "AuthorizationQueryParametersError",
			"Error parsing the X-Amz-Credential parameter; the region '%s' is wrong; expecting '%s'", scope[2], s.opts.Region)
	}
	signed := strings.Split(q.Get("X-Amz-SignedHeaders"), ";")
	if !slices.Contains(signed, "host") {
		return newError(http.StatusBadRequest, "AuthorizationQueryParametersError", "X-Amz-SignedHeaders must include host")
	}
	for name := range r.Header {
		if lower := strings.ToLower(name); strings.HasPrefix(lower, "x-amz-meta-") && !slices.Contains(signed, lower) {
			return newError(http.StatusForbidden, "AccessDenied", "There were headers present in the request which were not signed: %s", lower)
		}
	}
	if len(s.opts.Credentials) == 0 {
		return nil
	}
	secret, ok := s.opts.Credentials[scope[0]]
	if !ok {
		return newError(http.StatusForbidden, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.")
	}
	want := presignSignature(secret, s.canonicalPresigned(r, signed), q.Get("X-Amz-Date"), scope)
	if !hmac.Equal([]byte(want), []byte(q.Get("X-Amz-Signature"))) {
		return newError(http.StatusForbidden, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your key and signing method.")
	}
	return nil
}

// canonicalPresigned is the SigV4 canonical request of a presigned request, as its signer
// built it: the method, the path as signed (without the bucket for a virtual-hosted-style
// request, which the local stack rewrites to path style), every query parameter but the
// signature, the signed headers, and the payload hash (unsigned unless the request says).
func (s *Server) canonicalPresigned(r *http.Request, signed []string) string {
	path := r.URL.Path
	host, _, err := net.SplitHostPort(r.Host)
	if err != nil {
		host = r.Host
	}
	for _, b := range s.opts.Buckets {
		if strings.HasPrefix(host, b+".") && (path == "/"+b || strings.HasPrefix(path, "/"+b+"/")) {
			path = strings.TrimPrefix(path, "/"+b)
			break
		}
	}
	if path == "" {
		path = "/"
	}

	q := r.URL.Query()
	payload := "UNSIGNED-PAYLOAD"
	if v := q.Get("X-Amz-Content-Sha256"); v != "" {
		payload = v
	}
	q.Del("X-Amz-Signature")
	var params []string
	for name, values := range q {
		for _, v := range values {
			params = append(params, uriEncode(name, true)+"="+uriEncode(v, true))
		}
	}
	slices.Sort(params)

	var headers strings.Builder
	for _, name := range signed {
		value := ""
		if name == "host" {
			value = r.Host
		} else {
			value = strings.Join(r.Header.Values(name), ",")
		}
		if name == "x-amz-content-sha256" {
			payload = value
		}
		headers.WriteString(name + ":" + strings.Join(strings.Fields(value), " ") + "\n")
	}

	return strings.Join([]string{
		r.Method,
		uriEncode(path, false),
		strings.Join(params, "&"),
		headers.String(),
		strings.Join(signed, ";"),
		payload,
	}, "\n")
}

// presignSignature is the SigV4 signature of canonical under scope (access key, date, region,
// service, "aws4_request") at amzDate, with secret.
func presignSignature(secret, canonical, amzDate string, scope []string) string {
	sum := sha256.Sum256([]byte(canonical))
	toSign := presignAlgorithm + "\n" + amzDate + "\n" + strings.Join(scope[1:], "/") + "\n" + hex.EncodeToString(sum[:])
	key := []byte("AWS4" + secret)
	for _, part := range scope[1:] {
		key = hmacSHA256(key, part)
	}
	return hex.EncodeToString(hmacSHA256(key, toSign))
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// uriEncode encodes s as SigV4 does: every byte but A-Z, a-z, 0-9, "-", "_", "." and "~" as
// %XX, and "/" too unless it separates a path's segments (S3 paths are encoded once, not twice).
func uriEncode(s string, slash bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_', c == '.', c == '~':
			b.WriteByte(c)
		case c == '/' && !slash:
			b.WriteByte(c)
		default:
			b.WriteString("%" + strings.ToUpper(hex.EncodeToString([]byte{c})))
		}
	}
	return b.String()
}

func (s *Server) now() time.Time { return s.opts.Now() }
