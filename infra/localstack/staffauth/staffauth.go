// Package staffauth plays Cognito for the local stack: it issues ID-token-shaped staff JWTs
// signed with a local RSA key and checks Authorization headers the way the HTTP API's JWT
// authorizer does.
//
// The key lives in a file so that `go run ./infra/local token --email x` (a separate process)
// prints tokens the running stack accepts. Signing, parsing and the standard claim checks are
// github.com/golang-jwt/jwt/v5's; this package adds what the authorizer checks beyond them
// (the key ID, aud or client_id, exp without leeway) and the authorizer's rendering of claims.
package staffauth

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	// keyBits is the size of generated keys; Cognito signs with 2048-bit RSA keys.
	keyBits = 2048
	// maxAuthorization bounds the Authorization header value Verify looks at.
	maxAuthorization = 8 << 10
	// clockSkew is the leeway Verify allows on nbf and iat (not on exp).
	clockSkew = 5 * time.Minute
	// maxNumericDate bounds exp, nbf and iat (seconds, about 31 million years): beyond it the
	// conversion to time.Time is not exact and differs between platforms.
	maxNumericDate = 1e15
	// staffGroup is the Cognito group every local token carries.
	staffGroup = "staff"
)

var b64 = base64.RawURLEncoding

// Issuer signs and verifies local staff tokens with one RSA key.
type Issuer struct {
	key *rsa.PrivateKey
	kid string
}

// DefaultKeyPath returns where the local stack keeps its signing key:
// os.UserCacheDir()/sectorhub/local-staff-jwt.pem.
func DefaultKeyPath() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("locate user cache directory: %w", err)
	}
	return filepath.Join(dir, "sectorhub", "local-staff-jwt.pem"), nil
}

// LoadOrCreate returns an Issuer whose key is read from path (a PKCS#8 PEM file), creating the
// file (mode 0600, its directory 0700) with a new key if it does not exist. Processes racing
// to create the file all end up with the key of whichever wrote it first: the file appears
// complete or not at all.
func LoadOrCreate(path string) (*Issuer, error) {
	key, err := readKey(path)
	if err == nil {
		return NewIssuer(key), nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	key, err = createKey(path)
	if err != nil {
		return nil, err
	}
	return NewIssuer(key), nil
}

func readKey(path string) (*rsa.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read staff signing key: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("read staff signing key %s: no PKCS#8 PEM block", path)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse staff signing key %s: %w", path, err)
	}
	key, ok := parsed.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("parse staff signing key %s: %T is not an RSA key", path, parsed)
	}
	return key, nil
}

// createKey writes a new key to a temporary file next to path and links it into place, so
// that the file never appears half written and an existing file is never replaced. If another
// process won the race, its key is returned instead.
func createKey(path string) (*rsa.PrivateKey, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create key directory: %w", err)
	}
	key, err := rsa.GenerateKey(rand.Reader, keyBits)
	if err != nil {
		return nil, fmt.Errorf("generate staff signing key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode staff signing key: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".local-staff-jwt-*.pem")
	if err != nil {
		return nil, fmt.Errorf("create staff signing key: %w", err)
	}
	defer os.Remove(tmp.Name())
	// CreateTemp already uses 0600; Chmod makes that explicit whatever the umask.
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("create staff signing key: %w", err)
	}
	if err := pem.Encode(tmp, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("write staff signing key: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("write staff signing key: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("write staff signing key: %w", err)
	}
	switch err := os.Link(tmp.Name(), path); {
	case err == nil:
		return key, nil
	case errors.Is(err, fs.ErrExist):
		return readKey(path) // another process created it first
	default:
		// No hard links on this file system: fall back to rename, which is atomic but
		// lets the last of several racing processes win.
		if err := os.Rename(tmp.Name(), path); err != nil {
			return nil, fmt.Errorf("install staff signing key: %w", err)
		}
		return readKey(path)
	}
}

// NewIssuer returns an Issuer signing with key. Its key ID is the key's RFC 7638 thumbprint.
func NewIssuer(key *rsa.PrivateKey) *Issuer {
	return &Issuer{key: key, kid: thumbprint(&key.PublicKey)}
}

// KeyID returns the kid the Issuer puts in token headers and requires in Verify.
func (i *Issuer) KeyID() string { return i.kid }

func thumbprint(pub *rsa.PublicKey) string {
	e := b64.EncodeToString(big.NewInt(int64(pub.E)).Bytes())
	n := b64.EncodeToString(pub.N.Bytes())
	sum := sha256.Sum256([]byte(`{"e":"` + e + `","kty":"RSA","n":"` + n + `"}`))
	return b64.EncodeToString(sum[:])
}

// subject derives a stable UUID-shaped sub (version 8, RFC 9562 variant) from an email address,
// so that the same person gets the same sub in every token, as Cognito gives them.
func subject(email string) string {
	sum := sha256.Sum256([]byte("sectorhub-local-staff:" + strings.ToLower(strings.TrimSpace(email))))
	u := sum[:16]
	u[6] = u[6]&0x0f | 0x80
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

// Token returns a signed ID-token-shaped JWT for email, as Cognito would issue to a member of
// the staff group: header {alg RS256, typ JWT, kid}; claims sub, email, email_verified,
// cognito:username, cognito:groups, token_use "id", iss, aud, iat, exp (now+ttl), auth_time.
func (i *Issuer) Token(email, issuer, audience string, ttl time.Duration, now time.Time) (string, error) {
	switch {
	case strings.TrimSpace(email) == "" || !strings.Contains(email, "@"):
		return "", fmt.Errorf("issue staff token: email %q is not an address", email)
	case issuer == "":
		return "", errors.New("issue staff token: issuer is empty")
	case audience == "":
		return "", errors.New("issue staff token: audience is empty")
	case ttl <= 0:
		return "", fmt.Errorf("issue staff token: ttl %s is not positive", ttl)
	}
	sub := subject(email)
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"sub":              sub,
		"email":            email,
		"email_verified":   true,
		"cognito:username": sub,
		"cognito:groups":   []string{staffGroup},
		"token_use":        "id",
		"iss":              issuer,
		"aud":              audience,
		"iat":              now.Unix(),
		"auth_time":        now.Unix(),
		"exp":              now.Add(ttl).Unix(),
	})
	tok.Header["kid"] = i.kid
	signed, err := tok.SignedString(i.key)
	if err != nil {
		return "", fmt.Errorf("issue staff token: %w", err)
	}
	return signed, nil
}

// Verify checks an Authorization header value as an API Gateway HTTP API JWT authorizer does:
// an optional "Bearer " prefix, three base64url parts, alg RS256 and this Issuer's kid, no
// critical header extensions, a valid signature, iss equal to issuer, aud (string or array) or
// client_id containing one of audiences, exp in the future, nbf and iat not in the future (with
// five minutes of leeway).
//
// It returns the claims as API Gateway puts them in requestContext.authorizer.jwt.claims for
// payload 2.0 (every value a string; arrays as "[a b]"; numbers without exponent) and the
// scopes of the "scope" claim (nil if absent). Errors say what failed.
func (i *Issuer) Verify(authorization, issuer string, audiences []string, now time.Time) (map[string]string, []string, error) {
	if len(authorization) > maxAuthorization {
		return nil, nil, fmt.Errorf("token is longer than %d bytes", maxAuthorization)
	}
	token := bearerToken(authorization)
	if token == "" {
		return nil, nil, errors.New("missing token")
	}
	// The base64 decoder skips line breaks: refuse anything outside the alphabet so that
	// exactly one string carries each signed token.
	if n := strings.IndexFunc(token, func(c rune) bool {
		return !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.')
	}); n >= 0 {
		return nil, nil, fmt.Errorf("malformed token: invalid base64url character at offset %d", n)
	}
	claims := jwt.MapClaims{}
	parser := jwt.NewParser(jwt.WithValidMethods([]string{jwt.SigningMethodRS256.Alg()}), jwt.WithStrictDecoding(), jwt.WithoutClaimsValidation())
	if _, err := parser.ParseWithClaims(token, claims, i.verificationKey); err != nil {
		return nil, nil, err
	}
	if err := checkClaims(claims, issuer, audiences, now); err != nil {
		return nil, nil, err
	}
	var scopes []string
	if v, ok := claims["scope"]; ok {
		s, ok := v.(string)
		if !ok {
			return nil, nil, errors.New("token scope claim is not a string")
		}
		scopes = strings.Fields(s)
	}
	out := make(map[string]string, len(claims))
	for k, v := range claims {
		out[k] = render(v)
	}
	return out, scopes, nil
}

// verificationKey is Verify's jwt.Keyfunc: the token must name this Issuer's key and carry no
// critical header extensions (none is understood here, so RFC 7515 says refuse).
func (i *Issuer) verificationKey(t *jwt.Token) (any, error) {
	kid, ok := t.Header["kid"].(string)
	switch {
	case !ok:
		return nil, errors.New("token has no key ID (kid)")
	case kid != i.kid:
		return nil, fmt.Errorf("token key ID %q is unknown", kid)
	}
	if _, ok := t.Header["crit"]; ok {
		return nil, errors.New("token header has critical extensions")
	}
	return &i.key.PublicKey, nil
}

// bearerToken strips an optional, case-insensitive "Bearer " prefix and surrounding spaces.
func bearerToken(authorization string) string {
	s := strings.TrimSpace(authorization)
	if strings.EqualFold(s, "bearer") {
		return ""
	}
	if len(s) >= 7 && strings.EqualFold(s[:7], "bearer ") {
		s = strings.TrimSpace(s[7:])
	}
	return s
}

// checkClaims checks the claims of a token whose signature is valid. jwt's validator checks
// iss, the presence and types of exp, nbf and iat, and nbf and iat with clockSkew of leeway;
// its leeway applies to exp too, so exp is checked again here without it.
func checkClaims(claims jwt.MapClaims, issuer string, audiences []string, now time.Time) error {
	if issuer == "" {
		return errors.New("token issuer cannot be checked: no issuer configured")
	}
	for _, name := range []string{"exp", "nbf", "iat"} {
		if f, ok := claims[name].(float64); ok && math.Abs(f) > maxNumericDate {
			return fmt.Errorf("token %s claim %g is out of range", name, f)
		}
	}
	v := jwt.NewValidator(jwt.WithIssuer(issuer), jwt.WithExpirationRequired(), jwt.WithIssuedAt(),
		jwt.WithLeeway(clockSkew), jwt.WithTimeFunc(func() time.Time { return now }))
	if err := v.Validate(claims); err != nil {
		return err
	}
	exp, err := claims.GetExpirationTime()
	if err != nil {
		return err
	}
	if !now.Before(exp.Time) {
		return fmt.Errorf("token expired at %s", exp.UTC().Format(time.RFC3339))
	}
	aud, err := claims.GetAudience()
	if err != nil {
		return err
	}
	if id, ok := claims["client_id"].(string); ok {
		aud = append(aud, id)
	}
	for _, a := range aud {
		if a != "" && slices.Contains(audiences, a) {
			return nil
		}
	}
	return errors.New("token audience (aud or client_id) matches none of the configured audiences")
}

// render formats a claim value as API Gateway does in payload 2.0 authorizer claims.
func render(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case bool:
		return strconv.FormatBool(v)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case []any:
		items := make([]string, len(v))
		for n, item := range v {
			items[n] = render(item)
		}
		return "[" + strings.Join(items, " ") + "]"
	case nil:
		return "null"
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Sprint(v)
		}
		return string(b)
	}
}
