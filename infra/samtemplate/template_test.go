package samtemplate

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/truora/minidyn/server"
)

const repoTemplate = "../../template.yaml"

func mustLoad(tb testing.TB, path string) *Template {
	tb.Helper()
	t, err := Load(path)
	if err != nil {
		tb.Fatalf("Load(%s): %v", path, err)
	}
	return t
}

func mustParse(tb testing.TB, src string) *Template {
	tb.Helper()
	t, err := Parse("test.yaml", []byte(src))
	if err != nil {
		tb.Fatalf("Parse: %v", err)
	}
	return t
}

func localNames(tb testing.TB, t *Template) map[string]string {
	tb.Helper()
	names, err := t.LocalNames(func(id string) string { return "sectorhub-local-" + id })
	if err != nil {
		tb.Fatalf("LocalNames: %v", err)
	}
	return names
}

func TestLoadRepoTemplateFunctions(t *testing.T) {
	tp := mustLoad(t, repoTemplate)
	names := localNames(t, tp)
	want := []struct {
		id, codeURI string
		timeout     time.Duration
		memory      int
		env         map[string]string
	}{
		{"DirectoryFunction", "functions/directory", 10 * time.Second, 256, map[string]string{"TABLE_NAME": "sectorhub-local-Table"}},
		{"IngestFunction", "functions/ingest", 300 * time.Second, 1024, map[string]string{
			"TABLE_NAME":     "sectorhub-local-Table",
			"UPLOADS_BUCKET": "sectorhub-prod-uploads-000000000000-eu-west-2",
		}},
		{"StaffFunction", "functions/staff", 10 * time.Second, 256, map[string]string{"TABLE_NAME": "sectorhub-local-Table"}},
	}
	if len(tp.Functions) != len(want) {
		t.Fatalf("Functions = %d; want %d", len(tp.Functions), len(want))
	}
	for i, w := range want {
		fn := tp.Functions[i]
		if fn.LogicalID != w.id || fn.CodeUri != w.codeURI || fn.Timeout != w.timeout || fn.MemoryMB != w.memory {
			t.Errorf("Functions[%d] = %s %s %v %d MB; want %s %s %v %d MB", i, fn.LogicalID, fn.CodeUri, fn.Timeout, fn.MemoryMB, w.id, w.codeURI, w.timeout, w.memory)
		}
		if fn.Handler != "bootstrap" || fn.Runtime != "provided.al2023" || !reflect.DeepEqual(fn.Architectures, []string{"arm64"}) || fn.LogFormat != "JSON" {
			t.Errorf("%s: globals not applied: handler %q runtime %q arch %v log format %q", fn.LogicalID, fn.Handler, fn.Runtime, fn.Architectures, fn.LogFormat)
		}
		env, err := tp.ResolveEnv(fn, names)
		if err != nil {
			t.Fatalf("ResolveEnv(%s): %v", fn.LogicalID, err)
		}
		if !reflect.DeepEqual(env, w.env) {
			t.Errorf("ResolveEnv(%s) = %v; want %v", fn.LogicalID, env, w.env)
		}
	}
}

func TestLoadRepoTemplateRoutes(t *testing.T) {
	tp := mustLoad(t, repoTemplate)
	want := []struct{ fn, key, authorizer string }{
		{"DirectoryFunction", "GET /directory/organisations", ""},
		{"DirectoryFunction", "GET /directory/organisations/{id}", ""},
		{"StaffFunction", "GET /staff/imports", "StaffAuthorizer"},
	}
	if len(tp.Routes) != len(want) {
		t.Fatalf("Routes = %+v; want %d routes", tp.Routes, len(want))
	}
	for i, w := range want {
		r := tp.Routes[i]
		if r.FunctionID != w.fn || r.RouteKey() != w.key || r.Authorizer != w.authorizer || r.APIID != "Api" || r.PayloadFormatVersion != "2.0" {
			t.Errorf("Routes[%d] = %s %q auth %q api %s v%s; want %s %q auth %q api Api v2.0", i, r.FunctionID, r.RouteKey(), r.Authorizer, r.APIID, r.PayloadFormatVersion, w.fn, w.key, w.authorizer)
		}
	}
	names := localNames(t, tp)
	a, ok := tp.Authorizers["StaffAuthorizer"]
	if !ok {
		t.Fatalf("Authorizers = %v; want StaffAuthorizer", tp.Authorizers)
	}
	iss, err := tp.Resolve(a.Issuer, names)
	if err != nil || iss != "https://cognito-idp.eu-west-2.amazonaws.com/eu-west-2_sectorhublocal" {
		t.Errorf("issuer = %q, %v", iss, err)
	}
	if len(a.Audience) != 1 {
		t.Fatalf("audience = %v; want one", a.Audience)
	}
	if aud, err := tp.Resolve(a.Audience[0], names); err != nil || aud != "sectorhublocalclient" {
		t.Errorf("audience = %q, %v", aud, err)
	}
	if a.IdentitySource != "$request.header.Authorization" {
		t.Errorf("IdentitySource = %q", a.IdentitySource)
	}
	if len(tp.APIs) != 1 || tp.APIs[0].Cors == nil {
		t.Fatalf("APIs = %+v; want one with CORS", tp.APIs)
	}
	origins, err := tp.ResolveList(tp.APIs[0].Cors.AllowOrigins, names)
	if err != nil || !reflect.DeepEqual(origins, []string{"*"}) {
		t.Errorf("AllowOrigins = %v, %v; want [*]", origins, err)
	}
}

func TestLoadRepoTemplateS3AndStorage(t *testing.T) {
	tp := mustLoad(t, repoTemplate)
	if len(tp.S3Events) != 1 {
		t.Fatalf("S3Events = %+v; want 1", tp.S3Events)
	}
	e := tp.S3Events[0]
	if e.FunctionID != "IngestFunction" || e.BucketLogicalID != "UploadsBucket" || e.Prefix != "directory/" || e.Suffix != "" || !reflect.DeepEqual(e.Events, []string{"s3:ObjectCreated:*"}) {
		t.Errorf("S3Events[0] = %+v", e)
	}
	if len(tp.Buckets) != 1 || !tp.Buckets[0].Versioned {
		t.Fatalf("Buckets = %+v; want one versioned bucket", tp.Buckets)
	}
	names := localNames(t, tp)
	if got := names["UploadsBucket"]; got != "sectorhub-prod-uploads-000000000000-eu-west-2" {
		t.Errorf("bucket name = %q", got)
	}
	tp.Parameters["Stage"] = "dev"
	tp.Pseudo["AWS::Region"] = "eu-west-1"
	if got := localNames(t, tp)["UploadsBucket"]; got != "sectorhub-dev-uploads-000000000000-eu-west-1" {
		t.Errorf("bucket name with Stage=dev, region eu-west-1 = %q", got)
	}
	if len(tp.Tables) != 1 {
		t.Fatalf("Tables = %+v; want 1", tp.Tables)
	}
	tb := tp.Tables[0]
	d := tb.Definition
	if tb.LogicalID != "Table" || tb.TTLAttribute != "expires_at" || d.BillingMode != types.BillingModePayPerRequest || d.TableName != nil {
		t.Errorf("table = %s ttl %q billing %s name %v", tb.LogicalID, tb.TTLAttribute, d.BillingMode, d.TableName)
	}
	if len(d.AttributeDefinitions) != 4 || len(d.KeySchema) != 2 || aws.ToString(d.KeySchema[0].AttributeName) != "pk" || d.KeySchema[1].KeyType != types.KeyTypeRange {
		t.Errorf("table keys = %d attributes, key schema %+v", len(d.AttributeDefinitions), d.KeySchema)
	}
	if len(d.GlobalSecondaryIndexes) != 1 || aws.ToString(d.GlobalSecondaryIndexes[0].IndexName) != "gsi1" || d.GlobalSecondaryIndexes[0].Projection.ProjectionType != types.ProjectionTypeAll {
		t.Errorf("GSIs = %+v", d.GlobalSecondaryIndexes)
	}
}

func TestGlobalsMerge(t *testing.T) {
	tp := mustParse(t, `
Globals:
  Function:
    Timeout: 10
    Layers: [a]
    Environment:
      Variables:
        SHARED: global
        OVERRIDDEN: global
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fn
      Timeout: 20
      Layers: [b]
      Environment:
        Variables:
          OVERRIDDEN: function
          OWN: !Sub "${AWS::Region}-x"
          GONE: !Ref AWS::NoValue
  Bare:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: bare
`)
	fn, _ := tp.Function("Fn")
	env, err := tp.ResolveEnv(fn, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"SHARED": "global", "OVERRIDDEN": "function", "OWN": "eu-west-2-x"}
	if !reflect.DeepEqual(env, want) {
		t.Errorf("ResolveEnv = %v; want %v", env, want)
	}
	if fn.Timeout != 20*time.Second {
		t.Errorf("Timeout = %v; want 20s (function wins)", fn.Timeout)
	}
	bare, _ := tp.Function("Bare")
	if bare.Timeout != 10*time.Second || bare.MemoryMB != 128 || bare.LogFormat != "Text" {
		t.Errorf("Bare = timeout %v memory %d log %s; want 10s 128 Text", bare.Timeout, bare.MemoryMB, bare.LogFormat)
	}
}

func TestResolveIntrinsics(t *testing.T) {
	tp := mustParse(t, `
Parameters:
  Stage: {Type: String, Default: prod}
  Origins: {Type: CommaDelimitedList, Default: "https://a.example, https://b.example"}
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
  NotProd: {"Fn::Not": [{"Condition": IsProd}]}
Mappings:
  Sizes:
    prod: {memory: "512"}
Resources:
  Bucket:
    Type: AWS::S3::Bucket
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fn
      Environment:
        Variables:
          REF: !Ref Stage
          LONG_REF: {"Ref": "AWS::AccountId"}
          SUB: !Sub "${Stage}-${AWS::Region}-${Bucket}"
          SUB_VARS: !Sub ["${X}/${Bucket.Arn}", {X: !Ref Stage}]
          SUB_LITERAL: !Sub "${!NotAVar}"
          LONG_SUB: {"Fn::Sub": "s-${Stage}"}
          ATT: !GetAtt Bucket.Arn
          ATT_LIST: {"Fn::GetAtt": [Bucket, DomainName]}
          JOIN: !Join [",", [a, !Ref Stage]]
          JOIN_LIST: !Join ["|", !Ref Origins]
          SELECT: !Select [1, !Ref Origins]
          SPLIT: !Select [0, !Split ["-", "x-y"]]
          IF: !If [IsProd, yes, no]
          IF_NOT: !If [NotProd, yes, no]
          MAP: !FindInMap [Sizes, !Ref Stage, memory]
          B64: !Base64 hi
`)
	fn, _ := tp.Function("Fn")
	env, err := tp.ResolveEnv(fn, map[string]string{"Bucket": "my-bucket"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"REF":         "prod",
		"LONG_REF":    "000000000000",
		"SUB":         "prod-eu-west-2-my-bucket",
		"SUB_VARS":    "prod/arn:aws:s3:::my-bucket",
		"SUB_LITERAL": "${NotAVar}",
		"LONG_SUB":    "s-prod",
		"ATT":         "arn:aws:s3:::my-bucket",
		"ATT_LIST":    "my-bucket.s3.amazonaws.com",
		"JOIN":        "a,prod",
		"JOIN_LIST":   "https://a.example|https://b.example",
		"SELECT":      "https://b.example",
		"SPLIT":       "x",
		"IF":          "yes",
		"IF_NOT":      "no",
		"MAP":         "512",
		"B64":         "aGk=",
	}
	for k, w := range want {
		if env[k] != w {
			t.Errorf("%s = %q; want %q", k, env[k], w)
		}
	}
	if _, err := tp.ResolveEnv(fn, nil); err == nil || !strings.Contains(err.Error(), "no local value for resource Bucket") {
		t.Errorf("ResolveEnv without physical names: err = %v; want no local value for resource Bucket", err)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"not YAML", "Resources: [unclosed", "bad.yaml:1: did not find expected"},
		{"tabs", "Resources:\n\tA: 1\n", "bad.yaml:2: found character that cannot start any token"},
		{"empty", "", "bad.yaml: empty template"},
		{"not a mapping", "- a\n- b\n", "bad.yaml:1: a template must be a mapping"},
		{"no Resources", "Parameters:\n  A: {Type: String}\n", "bad.yaml: no Resources section"},
		{"resource without type", "Resources:\n  X:\n    Properties: {}\n", "bad.yaml:2: resource X has no Type"},
		{"unknown Ref", "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: fn\n      Environment:\n        Variables:\n          T: !Ref Tabel\n",
			"bad.yaml:8: !Ref Tabel: no parameter or resource named Tabel"},
		{"unknown Sub variable", "Resources:\n  B:\n    Type: AWS::S3::Bucket\n    Properties:\n      BucketName: !Sub \"x-${Nope}\"\n",
			"bad.yaml:5: !Sub ${Nope}: no parameter or resource named Nope"},
		{"unknown GetAtt", "Resources:\n  B:\n    Type: AWS::S3::Bucket\nOutputs:\n  O:\n    Value: !GetAtt Nope.Arn\n",
			"bad.yaml:6: !GetAtt Nope: no resource named Nope"},
		{"function without CodeUri", "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      Handler: x\n",
			"bad.yaml:3: Fn has no CodeUri"},
		{"bad timeout", "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: fn\n      Timeout: soon\n",
			"bad.yaml:6: Timeout \"soon\" is not a whole number"},
		{"unknown authorizer", `Resources:
  Api:
    Type: AWS::Serverless::HttpApi
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fn
      Events:
        E:
          Type: HttpApi
          Properties: {ApiId: !Ref Api, Method: GET, Path: /x, Auth: {Authorizer: Missing}}
`, "no authorizer Missing on Api"},
		{"S3 event on a foreign bucket", `Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fn
      Events:
        E:
          Type: S3
          Properties: {Bucket: some-bucket, Events: s3:ObjectCreated:*}
`, "bad.yaml:8: Fn event E: Bucket must be a !Ref to an AWS::S3::Bucket"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("bad.yaml", []byte(tt.src))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse() error = %v; want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "template.yaml"))
	if err == nil || !os.IsNotExist(unwrapAll(err)) {
		t.Errorf("Load(missing) = %v; want a not-exist error", err)
	}
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok || u.Unwrap() == nil {
			return err
		}
		err = u.Unwrap()
	}
}

func TestRoutesDefaultsAndDefaultAuthorizer(t *testing.T) {
	tp := mustParse(t, `
Resources:
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      CorsConfiguration: true
      Auth:
        DefaultAuthorizer: Jwt
        Authorizers:
          Jwt:
            JwtConfiguration:
              issuer: https://issuer.example
              audience: [a, b]
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fn
      Events:
        Catch:
          Type: HttpApi
          Properties: {ApiId: !Ref Api}
        Open:
          Type: HttpApi
          Properties: {ApiId: !Ref Api, Method: any, Path: "/open/{proxy+}", Auth: {Authorizer: NONE}}
        Scoped:
          Type: HttpApi
          Properties: {ApiId: !Ref Api, Method: post, Path: /s, TimeoutInMillis: 5000, Auth: {AuthorizationScopes: [admin]}}
        Weekly:
          Type: Schedule
          Properties: {Schedule: rate(7 days)}
`)
	want := []struct {
		key, authorizer string
		scopes          []string
		timeout         time.Duration
	}{
		{"$default", "Jwt", nil, 30 * time.Second},
		{"ANY /open/{proxy+}", "", nil, 30 * time.Second},
		{"POST /s", "Jwt", []string{"admin"}, 5 * time.Second},
	}
	if len(tp.Routes) != len(want) {
		t.Fatalf("Routes = %+v", tp.Routes)
	}
	for i, w := range want {
		r := tp.Routes[i]
		if r.RouteKey() != w.key || r.Authorizer != w.authorizer || !reflect.DeepEqual(r.Scopes, w.scopes) || r.Timeout != w.timeout {
			t.Errorf("Routes[%d] = %q auth %q scopes %v timeout %v; want %q %q %v %v", i, r.RouteKey(), r.Authorizer, r.Scopes, r.Timeout, w.key, w.authorizer, w.scopes, w.timeout)
		}
	}
	if len(tp.Authorizers["Jwt"].Audience) != 2 {
		t.Errorf("audience = %v; want 2", tp.Authorizers["Jwt"].Audience)
	}
	if c := tp.APIs[0].Cors; c == nil || c.AllowOrigins.String() != "*" {
		t.Errorf("CorsConfiguration: true gave %+v; want allow-all", c)
	}
	if len(tp.Triggers) != 1 || tp.Triggers[0].Type != "Schedule" || tp.Triggers[0].Schedule.String() != "rate(7 days)" {
		t.Errorf("Triggers = %+v", tp.Triggers)
	}
}

func TestCreateTables(t *testing.T) {
	srv := httptest.NewServer(server.NewServer())
	t.Cleanup(srv.Close)
	client := dynamodb.New(dynamodb.Options{
		Region:       "eu-west-2",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  aws.AnonymousCredentials{},
	})
	tp := mustLoad(t, repoTemplate)
	name := func(id string) string { return "test-" + id }
	ctx := context.Background()
	for range 2 { // the second run finds the tables already there
		if err := CreateTables(ctx, client, tp, name); err != nil {
			t.Fatalf("CreateTables: %v", err)
		}
	}
	out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("test-Table")})
	if err != nil {
		t.Fatalf("DescribeTable: %v", err)
	}
	if len(out.Table.GlobalSecondaryIndexes) != 1 || aws.ToString(out.Table.GlobalSecondaryIndexes[0].IndexName) != "gsi1" {
		t.Errorf("created table's GSIs = %+v; want gsi1", out.Table.GlobalSecondaryIndexes)
	}
}

func TestLoadRepoTemplateInvokeSettings(t *testing.T) {
	tp := mustLoad(t, repoTemplate)
	tests := []struct {
		fn                string
		reserved, retries int
	}{
		{"IngestFunction", 1, 2},
		{"DirectoryFunction", 0, 2},
	}
	for _, tc := range tests {
		fn, ok := tp.Function(tc.fn)
		if !ok {
			t.Fatalf("no %s", tc.fn)
		}
		if fn.ReservedConcurrency != tc.reserved || fn.MaxRetryAttempts != tc.retries {
			t.Errorf("%s: ReservedConcurrency %d, MaxRetryAttempts %d; want %d, %d", tc.fn, fn.ReservedConcurrency, fn.MaxRetryAttempts, tc.reserved, tc.retries)
		}
	}
}
