package staffauth

import (
	"crypto/x509"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	testIssuerURL = "https://cognito-idp.eu-west-2.amazonaws.com/eu-west-2_local"
	testAudience  = "local-staff-client"
	testEmail     = "ada@example.org"
)

var testNow = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

// mustIssuer returns an Issuer with the fixed test key in testdata/name, so that tokens signed
// in tests (and fuzz seeds) are the same in every process.
func mustIssuer(tb testing.TB, name string) *Issuer {
	tb.Helper()
	key, err := readKey(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return NewIssuer(key)
}

// sign returns a JWT with the given header and claims (any JSON, so that tests can sign
// malformed payloads) signed by iss's key with RS256.
func sign(tb testing.TB, iss *Issuer, header, claims any) string {
	tb.Helper()
	return signWith(tb, jwt.SigningMethodRS256, iss.key, header, claims)
}

// signWith returns a JWT with the given header and claims signed by method with key, whatever
// alg the header names.
func signWith(tb testing.TB, method jwt.SigningMethod, key any, header, claims any) string {
	tb.Helper()
	input := encodeJSON(tb, header) + "." + encodeJSON(tb, claims)
	sig, err := method.Sign(input, key)
	if err != nil {
		tb.Fatal(err)
	}
	return input + "." + b64.EncodeToString(sig)
}

func encodeJSON(tb testing.TB, v any) string {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b64.EncodeToString(b)
}

// goodClaims returns the claims of a valid token at testNow; callers change them per case.
func goodClaims() map[string]any {
	return map[string]any{
		"sub":       "11111111-2222-8333-8444-555555555555",
		"email":     testEmail,
		"token_use": "id",
		"iss":       testIssuerURL,
		"aud":       testAudience,
		"iat":       testNow.Unix(),
		"exp":       testNow.Add(time.Hour).Unix(),
	}
}

func with(claims map[string]any, changes map[string]any) map[string]any {
	for k, v := range changes {
		if v == nil {
			delete(claims, k)
			continue
		}
		claims[k] = v
	}
	return claims
}

// mustDecode decodes one base64url part of a token.
func mustDecode(tb testing.TB, part string) []byte {
	tb.Helper()
	b, err := b64.DecodeString(part)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// nextBase64 returns the base64url character after c, which keeps the bits a final character
// contributes but changes the padding bits a strict decoder refuses.
func nextBase64(c byte) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	return string(alphabet[(strings.IndexByte(alphabet, c)+1)%64])
}

func TestVerify(t *testing.T) {
	iss := mustIssuer(t, "test-key.pem")
	other := mustIssuer(t, "other-key.pem")
	header := map[string]string{"alg": "RS256", "typ": "JWT", "kid": iss.KeyID()}
	good, err := iss.Token(testEmail, testIssuerURL, testAudience, time.Hour, testNow)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, ".")

	// An HS256 token keyed with the public key: the classic algorithm-confusion attack.
	pubDER, err := x509.MarshalPKIXPublicKey(&iss.key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	hs256 := signWith(t, jwt.SigningMethodHS256, pubDER, map[string]string{"alg": "HS256", "typ": "JWT", "kid": iss.KeyID()}, goodClaims())
	// The same key with another RSA algorithm: valid signatures, but the authorizer pins RS256.
	rs512 := signWith(t, jwt.SigningMethodRS512, iss.key, map[string]string{"alg": "RS512", "kid": iss.KeyID()}, goodClaims())
	ps256 := signWith(t, jwt.SigningMethodPS256, iss.key, map[string]string{"alg": "PS256", "kid": iss.KeyID()}, goodClaims())

	tamperedClaims := with(goodClaims(), map[string]any{"email": "mallory@example.org"})
	tampered := parts[0] + "." + encodeJSON(t, tamperedClaims) + "." + parts[2]

	tests := []struct {
		name          string
		authorization string
		audiences     []string
		issuer        string // testIssuerURL unless set; "-" means none
		wantErr       string // substring; empty means accepted
		wantScopes    []string
	}{
		{name: "good token with Bearer", authorization: "Bearer " + good},
		{name: "good token lower-case bearer", authorization: "bearer " + good},
		{name: "good token without prefix", authorization: good},
		{name: "good token second audience", authorization: good, audiences: []string{"other", testAudience}},
		{name: "missing", authorization: "", wantErr: "missing token"},
		{name: "Bearer only", authorization: "Bearer ", wantErr: "missing token"},
		{name: "not Bearer", authorization: "Basic YWRhOnNlY3JldA==", wantErr: "malformed token"},
		{name: "two parts", authorization: parts[0] + "." + parts[1], wantErr: "invalid number of segments"},
		{name: "four parts", authorization: good + ".x", wantErr: "invalid number of segments"},
		{name: "empty signature", authorization: parts[0] + "." + parts[1] + ".", wantErr: "signature is invalid"},
		{name: "bad base64 header", authorization: "!!." + parts[1] + "." + parts[2], wantErr: "invalid base64url character at offset 0"},
		{name: "padded base64", authorization: parts[0] + "=." + parts[1] + "." + parts[2], wantErr: "invalid base64url character"},
		{name: "non-zero padding bits", authorization: parts[0] + "." + parts[1] + "." + parts[2][:len(parts[2])-1] + nextBase64(parts[2][len(parts[2])-1]), wantErr: "could not base64 decode signature"},
		{name: "line break in payload", authorization: parts[0] + "." + parts[1][:10] + "\n" + parts[1][10:] + "." + parts[2], wantErr: "invalid base64url character"},
		{name: "line break in signature", authorization: parts[0] + "." + parts[1] + "." + parts[2][:10] + "\r\n" + parts[2][10:], wantErr: "invalid base64url character"},
		{name: "header not JSON", authorization: b64.EncodeToString([]byte("nope")) + "." + parts[1] + "." + parts[2], wantErr: "could not JSON decode header"},
		{
			name:          "alg none",
			authorization: encodeJSON(t, map[string]string{"alg": "none", "kid": iss.KeyID()}) + "." + parts[1] + "." + parts[2],
			wantErr:       "signing method none is invalid",
		},
		{name: "HS256 keyed with the public key", authorization: hs256, wantErr: "signing method HS256 is invalid"},
		{name: "RS512 with our key", authorization: rs512, wantErr: "signing method RS512 is invalid"},
		{name: "PS256 with our key", authorization: ps256, wantErr: "signing method PS256 is invalid"},
		{
			name:          "unknown alg",
			authorization: sign(t, iss, map[string]string{"alg": "XX999", "kid": iss.KeyID()}, goodClaims()),
			wantErr:       "signing method (alg) is unavailable",
		},
		{
			name:          "wrong kid",
			authorization: sign(t, iss, map[string]string{"alg": "RS256", "kid": "someone-else"}, goodClaims()),
			wantErr:       `key ID "someone-else" is unknown`,
		},
		{name: "no kid", authorization: sign(t, iss, map[string]string{"alg": "RS256"}, goodClaims()), wantErr: "no key ID"},
		{name: "other key with its own kid", authorization: sign(t, other, map[string]string{"alg": "RS256", "kid": other.KeyID()}, goodClaims()), wantErr: "key ID"},
		{name: "other key claiming our kid", authorization: sign(t, other, header, goodClaims()), wantErr: "signature is invalid"},
		{name: "tampered payload", authorization: tampered, wantErr: "signature is invalid"},
		{
			name:          "critical header extension",
			authorization: sign(t, iss, map[string]any{"alg": "RS256", "kid": iss.KeyID(), "crit": []string{"exp"}}, goodClaims()),
			wantErr:       "critical",
		},
		{name: "payload not an object", authorization: sign(t, iss, header, []string{"a"}), wantErr: "could not JSON decode claim"},
		{name: "payload null", authorization: sign(t, iss, header, nil), wantErr: "iss claim is required"},
		{
			name:          "payload with trailing data",
			authorization: parts[0] + "." + b64.EncodeToString(append(mustDecode(t, parts[1]), " {}"...)) + "." + parts[2],
			wantErr:       "could not JSON decode claim",
		},
		{name: "wrong issuer", authorization: sign(t, iss, header, with(goodClaims(), map[string]any{"iss": "https://evil.example"})), wantErr: "invalid issuer"},
		{name: "missing issuer", authorization: sign(t, iss, header, with(goodClaims(), map[string]any{"iss": nil})), wantErr: "iss claim is required"},
		{name: "issuer not a string", authorization: sign(t, iss, header, with(goodClaims(), map[string]any{"iss": 7})), wantErr: "iss is invalid"},
		{name: "no issuer configured", authorization: good, issuer: "-", wantErr: "no issuer configured"},
		{name: "wrong audience", authorization: sign(t, iss, header, with(goodClaims(), map[string]any{"aud": "other-client"})), wantErr: "audience"},
		{name: "no audiences configured", authorization: good, audiences: []string{}, wantErr: "audience"},
		{name: "audience array", authorization: sign(t, iss, header, with(goodClaims(), map[string]any{"aud": []string{"x", testAudience}}))},
		{
			name:          "client_id match",
			authorization: sign(t, iss, header, with(goodClaims(), map[string]any{"aud": nil, "client_id": testAudience, "token_use": "access", "scope": "staff/read staff/write"})),
			wantScopes:    []string{"staff/read", "staff/write"},
		},
		{name: "client_id mismatch", authorization: sign(t, iss, header, with(goodClaims(), map[string]any{"aud": nil, "client_id": "x"})), wantErr: "audience"},
		{name: "expired", authorization: sign(t, iss, header, with(goodClaims(), map[string]any{"exp": testNow.Add(-time.Second).Unix()})), wantErr: "expired"},
		{name: "expires now", authorization: sign(t, iss, header, with(goodClaims(), map[string]any{"exp": testNow.Unix()})), wantErr: "expired"},
		{name: "expired beyond the leeway", authorization: sign(t, iss, header, with(goodClaims(), map[string]any{"exp": testNow.Add(-time.Hour).Unix()})), wantErr: "expired"},
		{name: "no exp", authorization: sign(t, iss, header, with(goodClaims(), map[string]any{"exp": nil})), wantErr: "exp claim is required"},
		{name: "exp not a number", authorization: sign(t, iss, header, with(goodClaims(), map[string]any{"exp": "tomorrow"})), wantErr: "exp is invalid"},
		{name: "exp huge", authorization: sign(t, iss, header, with(goodClaims(), map[string]any{"exp": 1e300})), wantErr: "out of range"},
		{name: "nbf future", authorization: sign(t, iss, header, with(goodClaims(), map[string]any{"nbf": testNow.Add(6 * time.Minute).Unix()})), wantErr: "not valid yet"},
		{name: "nbf huge", authorization: sign(t, iss, header, with(goodClaims(), map[string]any{"nbf": 1e300})), wantErr: "out of range"},
		{name: "nbf within skew", authorization: sign(t, iss, header, with(goodClaims(), map[string]any{"nbf": testNow.Add(4 * time.Minute).Unix()}))},
		{name: "iat future", authorization: sign(t, iss, header, with(goodClaims(), map[string]any{"iat": testNow.Add(6 * time.Minute).Unix()})), wantErr: "used before issued"},
		{name: "iat within skew", authorization: sign(t, iss, header, with(goodClaims(), map[string]any{"iat": testNow.Add(4 * time.Minute).Unix()}))},
		{name: "audience array with a number", authorization: sign(t, iss, header, with(goodClaims(), map[string]any{"aud": []any{testAudience, 1}})), wantErr: "aud is invalid"},
		{name: "scope not a string", authorization: sign(t, iss, header, with(goodClaims(), map[string]any{"scope": 3})), wantErr: "scope"},
		{name: "too long", authorization: "Bearer " + strings.Repeat("a", 8<<10), wantErr: "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			audiences := tt.audiences
			if audiences == nil {
				audiences = []string{testAudience}
			}
			issuer := tt.issuer
			switch issuer {
			case "":
				issuer = testIssuerURL
			case "-":
				issuer = ""
			}
			claims, scopes, err := iss.Verify(tt.authorization, issuer, audiences, testNow)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Verify() error = %v; want one containing %q", err, tt.wantErr)
				}
				if claims != nil || scopes != nil {
					t.Errorf("Verify() = %v, %v with an error; want nil, nil", claims, scopes)
				}
				return
			}
			if err != nil {
				t.Fatalf("Verify() error = %v", err)
			}
			if claims["email"] != testEmail || claims["iss"] != testIssuerURL {
				t.Errorf("Verify() claims = %v; want email %q and iss %q", claims, testEmail, testIssuerURL)
			}
			if strings.Join(scopes, ",") != strings.Join(tt.wantScopes, ",") || (scopes == nil) != (tt.wantScopes == nil) {
				t.Errorf("Verify() scopes = %#v; want %#v", scopes, tt.wantScopes)
			}
		})
	}
}

func TestTokenClaims(t *testing.T) {
	iss := mustIssuer(t, "test-key.pem")
	tok, err := iss.Token(testEmail, testIssuerURL, testAudience, time.Hour, testNow)
	if err != nil {
		t.Fatal(err)
	}
	claims, scopes, err := iss.Verify("Bearer "+tok, testIssuerURL, []string{testAudience}, testNow.Add(59*time.Minute))
	if err != nil {
		t.Fatalf("Verify(Token()) error = %v", err)
	}
	if scopes != nil {
		t.Errorf("scopes = %#v; want nil", scopes)
	}
	sub := claims["sub"]
	want := map[string]string{
		"sub":              sub,
		"email":            testEmail,
		"email_verified":   "true",
		"cognito:username": sub,
		"cognito:groups":   "[staff]",
		"token_use":        "id",
		"iss":              testIssuerURL,
		"aud":              testAudience,
		"iat":              "1773500966",
		"auth_time":        "1773500966",
		"exp":              "1773504566",
	}
	if len(claims) != len(want) {
		t.Errorf("claims = %v; want %v", claims, want)
	}
	for k, v := range want {
		if claims[k] != v {
			t.Errorf("claims[%q] = %q; want %q", k, claims[k], v)
		}
	}
	if len(sub) != 36 || sub[14] != '8' {
		t.Errorf("sub = %q; want a version-8 UUID", sub)
	}
	again, err := iss.Token(" ADA@example.org", testIssuerURL, testAudience, time.Minute, testNow)
	if err != nil {
		t.Fatal(err)
	}
	claims2, _, err := iss.Verify(again, testIssuerURL, []string{testAudience}, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if claims2["sub"] != sub {
		t.Errorf("sub for the same address differently written = %q; want %q", claims2["sub"], sub)
	}
	if _, _, err := iss.Verify(tok, testIssuerURL, []string{testAudience}, testNow.Add(time.Hour)); err == nil {
		t.Error("Verify() after ttl accepted the token; want expired")
	}
}

func TestTokenRejectsBadInput(t *testing.T) {
	iss := mustIssuer(t, "test-key.pem")
	tests := []struct {
		name, email, issuer, audience string
		ttl                           time.Duration
	}{
		{name: "empty email", email: "", issuer: testIssuerURL, audience: testAudience, ttl: time.Hour},
		{name: "not an address", email: "ada", issuer: testIssuerURL, audience: testAudience, ttl: time.Hour},
		{name: "empty issuer", email: testEmail, issuer: "", audience: testAudience, ttl: time.Hour},
		{name: "empty audience", email: testEmail, issuer: testIssuerURL, audience: "", ttl: time.Hour},
		{name: "zero ttl", email: testEmail, issuer: testIssuerURL, audience: testAudience, ttl: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tok, err := iss.Token(tt.email, tt.issuer, tt.audience, tt.ttl, testNow); err == nil {
				t.Errorf("Token() = %q; want an error", tok)
			}
		})
	}
}

func TestRender(t *testing.T) {
	tests := []struct {
		name string
		in   any
		want string
	}{
		{name: "string", in: "a b", want: "a b"},
		{name: "bool", in: false, want: "false"},
		{name: "integer", in: 1773500966.0, want: "1773500966"},
		{name: "exponent", in: 1.7e9, want: "1700000000"},
		{name: "fraction", in: 1.5, want: "1.5"},
		{name: "array", in: []any{"a", 1.0, true}, want: "[a 1 true]"},
		{name: "empty array", in: []any{}, want: "[]"},
		{name: "object", in: map[string]any{"k": "v"}, want: `{"k":"v"}`},
		{name: "null", in: nil, want: "null"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := render(tt.in); got != tt.want {
				t.Errorf("render(%#v) = %q; want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestLoadOrCreatePersistsKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cache", "sectorhub", "local-staff-jwt.pem")
	first, err := LoadOrCreate(path)
	if err != nil {
		t.Fatalf("LoadOrCreate() error = %v", err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("key file mode = %v; want 0600", perm)
	}
	dirInfo, err := os.Stat(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if perm := dirInfo.Mode().Perm(); perm != 0o700 {
		t.Errorf("key directory mode = %v; want 0700", perm)
	}
	tok, err := first.Token(testEmail, testIssuerURL, testAudience, time.Hour, testNow)
	if err != nil {
		t.Fatal(err)
	}

	second, err := LoadOrCreate(path)
	if err != nil {
		t.Fatalf("LoadOrCreate() again error = %v", err)
	}
	if second.KeyID() != first.KeyID() {
		t.Errorf("second LoadOrCreate() kid = %q; want %q", second.KeyID(), first.KeyID())
	}
	if _, _, err := second.Verify(tok, testIssuerURL, []string{testAudience}, testNow); err != nil {
		t.Errorf("token of the first Issuer rejected by the second: %v", err)
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("key directory holds %d entries; want only the key", len(entries))
	}
}

func TestLoadOrCreateConcurrentFirstUse(t *testing.T) {
	path := filepath.Join(t.TempDir(), "local-staff-jwt.pem")
	const n = 4
	kids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			iss, err := LoadOrCreate(path)
			errs[i] = err
			if err == nil {
				kids[i] = iss.KeyID()
			}
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("LoadOrCreate() #%d error = %v", i, errs[i])
		}
		if kids[i] != kids[0] {
			t.Errorf("LoadOrCreate() #%d kid = %q; want %q (the same key for everyone)", i, kids[i], kids[0])
		}
	}
	final, err := LoadOrCreate(path)
	if err != nil {
		t.Fatal(err)
	}
	if final.KeyID() != kids[0] {
		t.Errorf("key on disk has kid %q; want %q", final.KeyID(), kids[0])
	}
}

func TestLoadOrCreateRefusesCorruptFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(path, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreate(path); err == nil {
		t.Fatal("LoadOrCreate(corrupt file) succeeded; want an error")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != "not a key" {
		t.Error("LoadOrCreate replaced a corrupt key file; want it left for the user to look at")
	}
}

func TestDefaultKeyPath(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", "/tmp/cache-home")
	path, err := DefaultKeyPath()
	if err != nil {
		t.Fatal(err)
	}
	if want := "/tmp/cache-home/sectorhub/local-staff-jwt.pem"; path != want {
		t.Errorf("DefaultKeyPath() = %q; want %q", path, want)
	}
}

func FuzzVerify(f *testing.F) {
	iss := mustIssuer(f, "test-key.pem")
	good, err := iss.Token(testEmail, testIssuerURL, testAudience, time.Hour, testNow)
	if err != nil {
		f.Fatal(err)
	}
	access := sign(f, iss, map[string]string{"alg": "RS256", "kid": iss.KeyID()},
		with(goodClaims(), map[string]any{"aud": nil, "client_id": testAudience, "scope": "a b", "nbf": testNow.Unix()}))
	signed := map[string]bool{good: true, access: true}
	parts := strings.Split(good, ".")
	for _, seed := range []string{
		good,
		"Bearer " + good,
		"bearer  " + access + " ",
		access,
		"",
		"Bearer",
		"a.b.c",
		"..",
		parts[0] + "." + parts[1] + ".",
		encodeJSON(f, map[string]string{"alg": "none"}) + "." + parts[1] + ".",
		parts[0] + "." + encodeJSON(f, goodClaims()) + "." + parts[2],
		strings.ToUpper(good),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, authorization string) {
		claims, scopes, err := iss.Verify(authorization, testIssuerURL, []string{testAudience}, testNow)
		if err != nil {
			if claims != nil || scopes != nil {
				t.Fatalf("Verify(%q) returned claims with error %v", authorization, err)
			}
			return
		}
		if tok := bearerToken(authorization); !signed[tok] {
			t.Fatalf("Verify(%q) accepted a token this test never signed", authorization)
		}
		if claims["iss"] != testIssuerURL {
			t.Fatalf("Verify(%q) claims[iss] = %q", authorization, claims["iss"])
		}
	})
}
