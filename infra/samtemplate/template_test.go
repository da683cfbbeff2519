package samtemplate

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/truora/minidyn/server"
	"gopkg.in/yaml.v3"
)

const (
	repoTemplate = "../../template.yaml"
	testTemplate = "testdata/template.yaml"
)

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

// TestLoadRepoTemplate reads the project's template.yaml for what holds however it grows: it
// loads, every function gets the Globals and resolves its Environment, and the directory's
// routes, the staff authorizer, the uploads bucket and the table are as the local stack needs
// them. testdata/template.yaml is read exactly by the tests below.
func TestLoadRepoTemplate(t *testing.T) {
	tp := mustLoad(t, repoTemplate)
	for name := range tp.parameterTypes {
		if _, ok := tp.Parameters[name]; !ok {
			tp.Parameters[name] = "given-" + name // as deploys (and the local stack) give them
		}
	}
	names := localNames(t, tp)
	if len(tp.Functions) == 0 {
		t.Fatal("Functions is empty")
	}
	for _, fn := range tp.Functions {
		if fn.Handler != "bootstrap" || fn.Runtime != "provided.al2023" || !reflect.DeepEqual(fn.Architectures, []string{"arm64"}) || fn.LogFormat != "JSON" {
			t.Errorf("%s: globals not applied: handler %q runtime %q arch %v log format %q", fn.LogicalID, fn.Handler, fn.Runtime, fn.Architectures, fn.LogFormat)
		}
		env, err := tp.ResolveEnv(fn, names)
		if err != nil {
			t.Errorf("ResolveEnv(%s): %v", fn.LogicalID, err)
		} else if env["TABLE_NAME"] != "sectorhub-local-Table" {
			t.Errorf("ResolveEnv(%s)[TABLE_NAME] = %q; want sectorhub-local-Table", fn.LogicalID, env["TABLE_NAME"])
		}
	}
	routes := map[string]Route{}
	for _, r := range tp.Routes {
		routes[r.RouteKey()] = r
	}
	for key, want := range map[string]struct{ fn, authorizer string }{
		"GET /directory/organisations":      {"DirectoryFunction", ""},
		"GET /directory/organisations/{id}": {"DirectoryFunction", ""},
		"GET /staff/imports":                {"StaffFunction", "StaffAuthorizer"},
	} {
		r, ok := routes[key]
		if !ok || r.FunctionID != want.fn || r.Authorizer != want.authorizer || r.APIID != "Api" || r.PayloadFormatVersion != "2.0" {
			t.Errorf("route %q = %+v (found %t); want %s, authorizer %q, API Api, payload 2.0", key, r, ok, want.fn, want.authorizer)
		}
	}
	checkStaffAuthorizer(t, tp, names)
	if len(tp.APIs) != 1 || tp.APIs[0].Cors == nil {
		t.Fatalf("APIs = %+v; want one with CORS", tp.APIs)
	}
	if origins, err := tp.ResolveList(tp.APIs[0].Cors.AllowOrigins, names); err != nil || !reflect.DeepEqual(origins, []string{"*"}) {
		t.Errorf("AllowOrigins = %v, %v; want [*]", origins, err)
	}
	directoryUploads := 0
	for _, e := range tp.S3Events {
		if e.BucketLogicalID != "UploadsBucket" || e.Prefix == "" || len(e.Events) == 0 {
			t.Errorf("S3 event %+v; want one on UploadsBucket with a prefix", e)
		}
		if e.Prefix == "directory/" && slices.Contains(e.Events, "s3:ObjectCreated:*") {
			directoryUploads++
		}
	}
	if directoryUploads != 1 {
		t.Errorf("S3Events = %+v; want one ObjectCreated event for directory/", tp.S3Events)
	}
	if b, ok := findBucket(tp, "UploadsBucket"); !ok || !b.Versioned || names["UploadsBucket"] != "sectorhub-prod-uploads-000000000000-eu-west-2" {
		t.Errorf("UploadsBucket = %+v named %q; want versioned, sectorhub-prod-uploads-000000000000-eu-west-2", b, names["UploadsBucket"])
	}
	if len(tp.Tables) != 1 {
		t.Fatalf("Tables = %+v; want 1", tp.Tables)
	}
	tb := tp.Tables[0]
	d := tb.Definition
	if tb.LogicalID != "Table" || tb.TTLAttribute != "expires_at" || d.BillingMode != types.BillingModePayPerRequest || d.TableName != nil {
		t.Errorf("table = %s ttl %q billing %s name %v", tb.LogicalID, tb.TTLAttribute, d.BillingMode, d.TableName)
	}
	if len(d.KeySchema) != 2 || aws.ToString(d.KeySchema[0].AttributeName) != "pk" || d.KeySchema[1].KeyType != types.KeyTypeRange {
		t.Errorf("table key schema %+v; want pk HASH, sk RANGE", d.KeySchema)
	}
	if !slices.ContainsFunc(d.GlobalSecondaryIndexes, func(g types.GlobalSecondaryIndex) bool { return aws.ToString(g.IndexName) == "gsi1" }) {
		t.Errorf("GSIs = %+v; want gsi1 among them", d.GlobalSecondaryIndexes)
	}
}

// checkStaffAuthorizer checks that StaffAuthorizer's issuer and audience resolve to the local
// user pool's.
func checkStaffAuthorizer(tb testing.TB, tp *Template, names map[string]string) {
	tb.Helper()
	a, ok := tp.Authorizers["StaffAuthorizer"]
	if !ok {
		tb.Fatalf("Authorizers = %v; want StaffAuthorizer", tp.Authorizers)
	}
	if iss, err := tp.Resolve(a.Issuer, names); err != nil || iss != "https://cognito-idp.eu-west-2.amazonaws.com/eu-west-2_sectorhublocal" {
		tb.Errorf("StaffAuthorizer issuer = %q, %v", iss, err)
	}
	if len(a.Audience) != 1 {
		tb.Fatalf("StaffAuthorizer audience = %v; want one", a.Audience)
	}
	if aud, err := tp.Resolve(a.Audience[0], names); err != nil || aud != "sectorhublocalclient" {
		tb.Errorf("StaffAuthorizer audience = %q, %v", aud, err)
	}
}

func findBucket(tp *Template, logicalID string) (Bucket, bool) {
	for _, b := range tp.Buckets {
		if b.LogicalID == logicalID {
			return b, true
		}
	}
	return Bucket{}, false
}

func TestLoadFunctions(t *testing.T) {
	tp := mustLoad(t, testTemplate)
	names := localNames(t, tp)
	want := []struct {
		id, codeURI       string
		timeout           time.Duration
		memory            int
		reserved, retries int
		env               map[string]string
	}{
		{"BulletinFunction", "functions/bulletin", 10 * time.Second, 256, 0, 2, map[string]string{"TABLE_NAME": "sectorhub-local-Table"}},
		{"DirectoryFunction", "functions/directory", 10 * time.Second, 256, 0, 2, map[string]string{"TABLE_NAME": "sectorhub-local-Table"}},
		{"DirectoryIngestFunction", "functions/directoryingest", 300 * time.Second, 1024, 1, 0, map[string]string{
			"TABLE_NAME":     "sectorhub-local-Table",
			"UPLOADS_BUCKET": "sectorhub-prod-uploads-000000000000-eu-west-2",
			"UPLOADS_ARN":    "arn:aws:s3:::sectorhub-prod-uploads-000000000000-eu-west-2",
			"REPORTS":        "sectorhub-prod-uploads-000000000000-eu-west-2/reports/directory/",
			"TEMPLATE_TEXT":  "${Literal} in aws",
			"LONG_REF":       "prod",
		}},
		{"StaffFunction", "functions/staff", 10 * time.Second, 256, 0, 2, map[string]string{"TABLE_NAME": "sectorhub-local-Table"}},
	}
	if len(tp.Functions) != len(want) {
		t.Fatalf("Functions = %d; want %d", len(tp.Functions), len(want))
	}
	for i, w := range want {
		fn := tp.Functions[i]
		if fn.LogicalID != w.id || fn.CodeUri != w.codeURI || fn.Timeout != w.timeout || fn.MemoryMB != w.memory {
			t.Errorf("Functions[%d] = %s %s %v %d MB; want %s %s %v %d MB", i, fn.LogicalID, fn.CodeUri, fn.Timeout, fn.MemoryMB, w.id, w.codeURI, w.timeout, w.memory)
		}
		if fn.ReservedConcurrency != w.reserved || fn.MaxRetryAttempts != w.retries {
			t.Errorf("%s: ReservedConcurrency %d, MaxRetryAttempts %d; want %d, %d", fn.LogicalID, fn.ReservedConcurrency, fn.MaxRetryAttempts, w.reserved, w.retries)
		}
		if fn.Handler != "bootstrap" || fn.Runtime != "provided.al2023" || !reflect.DeepEqual(fn.Architectures, []string{"arm64"}) ||
			fn.LogFormat != "JSON" || fn.ApplicationLogLevel != "INFO" || fn.SystemLogLevel != "WARN" {
			t.Errorf("%s: globals not applied: handler %q runtime %q arch %v logs %q %q %q", fn.LogicalID, fn.Handler, fn.Runtime, fn.Architectures, fn.LogFormat, fn.ApplicationLogLevel, fn.SystemLogLevel)
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

func TestLoadRoutesAndAPI(t *testing.T) {
	tp := mustLoad(t, testTemplate)
	want := []struct {
		fn, key, authorizer string
		scopes              []string
	}{
		{"DirectoryFunction", "GET /directory/organisations", "", nil},
		{"DirectoryFunction", "GET /directory/organisations/{id}", "", nil},
		{"StaffFunction", "GET /staff/imports", "StaffAuthorizer", []string{"imports/read"}},
	}
	if len(tp.Routes) != len(want) {
		t.Fatalf("Routes = %+v; want %d routes", tp.Routes, len(want))
	}
	for i, w := range want {
		r := tp.Routes[i]
		if r.FunctionID != w.fn || r.RouteKey() != w.key || r.Authorizer != w.authorizer || !reflect.DeepEqual(r.Scopes, w.scopes) || r.APIID != "Api" || r.PayloadFormatVersion != "2.0" || r.Timeout != 30*time.Second {
			t.Errorf("Routes[%d] = %+v; want %s %q auth %q scopes %v api Api v2.0 30s", i, r, w.fn, w.key, w.authorizer, w.scopes)
		}
	}
	names := localNames(t, tp)
	a := tp.Authorizers["StaffAuthorizer"]
	if a.IdentitySource != "$request.header.Authorization" || a.APIID != "Api" {
		t.Errorf("StaffAuthorizer = %+v; want the Authorization header of Api", a)
	}
	checkStaffAuthorizer(t, tp, names)
	if len(tp.APIs) != 1 || tp.APIs[0].Cors == nil {
		t.Fatalf("APIs = %+v; want one with CORS", tp.APIs)
	}
	c := tp.APIs[0].Cors
	if origins, err := tp.ResolveList(c.AllowOrigins, names); err != nil || !reflect.DeepEqual(origins, []string{"https://a.example", "https://b.example"}) {
		t.Errorf("AllowOrigins = %v, %v; want the CommaDelimitedList's two origins", origins, err)
	}
	if maxAge, err := tp.Resolve(c.MaxAge, names); err != nil || maxAge != "600" {
		t.Errorf("MaxAge = %q, %v; want 600 from Globals.HttpApi", maxAge, err)
	}
	if names["Api"] != "local" {
		t.Errorf("LocalNames()[Api] = %q; want local", names["Api"])
	}
}

func TestLoadEventsAndStorage(t *testing.T) {
	tp := mustLoad(t, testTemplate)
	wantS3 := []S3Event{
		{FunctionID: "DirectoryIngestFunction", EventID: "DirectoryUpload", BucketLogicalID: "UploadsBucket", Events: []string{"s3:ObjectCreated:*"}, Prefix: "directory/"},
		{FunctionID: "DirectoryIngestFunction", EventID: "CaseStudyChange", BucketLogicalID: "UploadsBucket", Events: []string{"s3:ObjectCreated:*", "s3:ObjectRemoved:*"}, Prefix: "case-studies/", Suffix: ".md"},
	}
	if !reflect.DeepEqual(tp.S3Events, wantS3) {
		t.Errorf("S3Events = %+v; want %+v", tp.S3Events, wantS3)
	}

	names := localNames(t, tp)
	wantTriggers := []struct{ event, typ, source string }{
		{"WeeklyDispatch", "ScheduleV2", "cron(0 7 ? * TUE *)"},
		{"MailFeedback", "SNS", "arn:aws:sns:eu-west-2:000000000000:sectorhub-local-FeedbackTopic"},
		{"Sends", "SQS", "arn:aws:sqs:eu-west-2:000000000000:BulletinQueue"},
		{"Legacy", "Schedule", "rate(7 days)"},
	}
	if len(tp.Triggers) != len(wantTriggers) {
		t.Fatalf("Triggers = %+v; want %d", tp.Triggers, len(wantTriggers))
	}
	for i, w := range wantTriggers {
		tr := tp.Triggers[i]
		source := tr.Schedule
		switch tr.Type {
		case "SNS":
			source = tr.Topic
		case "SQS":
			source = tr.Queue
		}
		got, err := tp.Resolve(source, names)
		if tr.FunctionID != "BulletinFunction" || tr.EventID != w.event || tr.Type != w.typ || err != nil || got != w.source {
			t.Errorf("Triggers[%d] = %s %s %s source %q, %v; want BulletinFunction %s %s %q", i, tr.FunctionID, tr.EventID, tr.Type, got, err, w.event, w.typ, w.source)
		}
	}
	scheduleProps := []struct {
		trigger int
		name    string
		v       Value
		want    string
	}{
		{0, "Timezone", tp.Triggers[0].Timezone, "Europe/London"},
		{0, "Input", tp.Triggers[0].Input, `{"issue": "weekly"}`},
		{0, "GroupName", tp.Triggers[0].GroupName, "bulletins"},
		{0, "State", tp.Triggers[0].State, "ENABLED"},
		{0, "Name", tp.Triggers[0].Name, ""},
		{3, "Name", tp.Triggers[3].Name, "prod-legacy"},
		{3, "Enabled", tp.Triggers[3].Enabled, "false"},
		{3, "Timezone", tp.Triggers[3].Timezone, ""},
		{3, "Input", tp.Triggers[3].Input, ""},
	}
	for _, p := range scheduleProps {
		if got, err := tp.Resolve(p.v, names); err != nil || got != p.want {
			t.Errorf("Triggers[%d].%s = %q, %v; want %q", p.trigger, p.name, got, err, p.want)
		}
	}

	if len(tp.Buckets) != 2 || tp.Buckets[0].LogicalID != "ScratchBucket" || tp.Buckets[0].Versioned || !tp.Buckets[1].Versioned {
		t.Fatalf("Buckets = %+v; want ScratchBucket, then UploadsBucket versioned", tp.Buckets)
	}
	for id, want := range map[string]string{
		"UploadsBucket":          "sectorhub-prod-uploads-000000000000-eu-west-2",
		"ScratchBucket":          "sectorhub-local-scratchbucket",
		"Table":                  "sectorhub-local-Table",
		"UserPool":               "eu-west-2_sectorhublocal",
		"UserPoolClient":         "sectorhublocalclient",
		"DirectoryLogs":          "DirectoryLogs",
		"OperationsSubscription": "OperationsSubscription",
	} {
		if names[id] != want {
			t.Errorf("LocalNames()[%s] = %q; want %q", id, names[id], want)
		}
	}
	tp.Parameters["Stage"] = "dev"
	tp.Pseudo["AWS::Region"] = "eu-west-1"
	if got := localNames(t, tp)["UploadsBucket"]; got != "sectorhub-dev-uploads-000000000000-eu-west-1" {
		t.Errorf("bucket name with Stage=dev, region eu-west-1 = %q", got)
	}

	if len(tp.Tables) != 1 {
		t.Fatalf("Tables = %+v; want 1", tp.Tables)
	}
	d := tp.Tables[0].Definition
	if tp.Tables[0].TTLAttribute != "expires_at" || d.BillingMode != types.BillingModePayPerRequest || len(d.AttributeDefinitions) != 4 {
		t.Errorf("table ttl %q billing %s attributes %d", tp.Tables[0].TTLAttribute, d.BillingMode, len(d.AttributeDefinitions))
	}
	if len(d.GlobalSecondaryIndexes) != 1 {
		t.Fatalf("GSIs = %+v; want gsi1", d.GlobalSecondaryIndexes)
	}
	if p := d.GlobalSecondaryIndexes[0].Projection; p.ProjectionType != types.ProjectionTypeInclude || !reflect.DeepEqual(p.NonKeyAttributes, []string{"status", "kind"}) {
		t.Errorf("gsi1 projection = %s %v; want INCLUDE [status kind]", p.ProjectionType, p.NonKeyAttributes)
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

// TestMailEventDestinations reads the test template's SES event destination, and the names Ref
// gives a configuration set (its Name) and a topic (its ARN), as the local stack resolves them
// to route the mailbox simulator's events.
func TestMailEventDestinations(t *testing.T) {
	tp := mustLoad(t, testTemplate)
	names := localNames(t, tp)
	if len(tp.MailEventDestinations) != 1 {
		t.Fatalf("MailEventDestinations = %+v; want 1", tp.MailEventDestinations)
	}
	d := tp.MailEventDestinations[0]
	props := []struct {
		name string
		v    Value
		want string
	}{
		{"ConfigurationSet", d.ConfigurationSet, "sectorhub-prod"},
		{"Name", d.Name, "feedback"},
		{"Enabled", d.Enabled, "true"},
		{"SNSTopic", d.SNSTopic, "arn:aws:sns:eu-west-2:000000000000:sectorhub-local-FeedbackTopic"},
	}
	for _, p := range props {
		if got, err := tp.Resolve(p.v, names); err != nil || got != p.want {
			t.Errorf("MailFeedbackDestination %s = %q, %v; want %q", p.name, got, err, p.want)
		}
	}
	if d.LogicalID != "MailFeedbackDestination" || !reflect.DeepEqual(d.MatchingEventTypes, []string{"bounce", "complaint"}) {
		t.Errorf("destination %s matches %v; want MailFeedbackDestination matching bounce and complaint", d.LogicalID, d.MatchingEventTypes)
	}
	for _, tt := range []struct {
		event string
		want  bool
	}{{"bounce", true}, {"Bounce", true}, {"complaint", true}, {"delivery", false}} {
		if got := d.Publishes(tt.event); got != tt.want {
			t.Errorf("Publishes(%q) = %t; want %t", tt.event, got, tt.want)
		}
	}

	attrs := []struct{ ref, want string }{
		{"OperationsTopic", "arn:aws:sns:eu-west-2:000000000000:sectorhub-prod-operations"},
		{"OperationsTopic.TopicName", "sectorhub-prod-operations"},
		{"OperationsTopic.TopicArn", "arn:aws:sns:eu-west-2:000000000000:sectorhub-prod-operations"},
		{"FeedbackTopic.TopicName", "sectorhub-local-FeedbackTopic"},
		{"MailConfigurationSet", "sectorhub-prod"},
	}
	for _, a := range attrs {
		tag, arg := "!Ref", a.ref
		if strings.Contains(a.ref, ".") {
			tag = "!GetAtt"
		}
		got, err := tp.Resolve(Value{node: &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: arg}}, names)
		if err != nil || got != a.want {
			t.Errorf("Resolve(%s %s) = %q, %v; want %q", tag, arg, got, err, a.want)
		}
	}

	var topics []string
	for _, r := range tp.Resources("AWS::SNS::Topic") {
		topics = append(topics, r.LogicalID)
	}
	if !reflect.DeepEqual(topics, []string{"FeedbackTopic", "OperationsTopic"}) {
		t.Errorf("Resources(AWS::SNS::Topic) = %v; want FeedbackTopic, OperationsTopic", topics)
	}
	sets := tp.Resources("AWS::SES::ConfigurationSet")
	if len(sets) != 1 {
		t.Fatalf("Resources(AWS::SES::ConfigurationSet) = %+v; want 1", sets)
	}
	props2, err := tp.ResolveValue(sets[0].Properties, names)
	if want := map[string]any{"Name": "sectorhub-prod"}; err != nil || !reflect.DeepEqual(props2, want) {
		t.Errorf("MailConfigurationSet's properties = %v, %v; want %v", props2, err, want)
	}
	if all := tp.Resources(""); len(all) < 10 || all[0].LogicalID > all[len(all)-1].LogicalID {
		t.Errorf("Resources(\"\") = %d resources; want every one, sorted by logical ID", len(all))
	}
}

func TestResolveIntrinsics(t *testing.T) {
	tp := mustParse(t, `
Parameters:
  Stage: {Type: String, Default: prod}
  Origins: {Type: CommaDelimitedList, Default: "https://a.example, https://b.example"}
  Subnets: {Type: "List<AWS::EC2::Subnet::Id>", Default: "a,b"}
  Required: {Type: String}
Resources:
  Bucket:
    Type: AWS::S3::Bucket
  Topic:
    Type: AWS::SNS::Topic
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fn
      Environment:
        Variables:
          REF: !Ref Stage
          LONG_REF: {"Ref": "AWS::AccountId"}
          PSEUDO: !Sub "${AWS::Partition} ${AWS::StackName} ${AWS::URLSuffix}"
          SUB: !Sub "${Stage}-${AWS::Region}-${Bucket}"
          SUB_VARS: !Sub ["${X}/${Bucket.Arn}", {X: !Ref Stage}]
          SUB_LITERAL: !Sub "${!NotAVar} ${ Stage }"
          LONG_SUB: {"Fn::Sub": "s-${Stage}"}
          ATT: !GetAtt Bucket.Arn
          ATT_LIST: {"Fn::GetAtt": [Bucket, DomainName]}
          TOPIC_ARN: !GetAtt Topic.TopicArn
          GIVEN_ATT: !GetAtt Bucket.WebsiteURL
`)
	physical := map[string]string{"Bucket": "my-bucket", "Topic": "my-topic", "Bucket.WebsiteURL": "http://my-bucket.local"}
	fn, _ := tp.Function("Fn")
	env, err := tp.ResolveEnv(fn, physical)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"REF":         "prod",
		"LONG_REF":    "000000000000",
		"PSEUDO":      "aws sectorhub-local amazonaws.com",
		"SUB":         "prod-eu-west-2-my-bucket",
		"SUB_VARS":    "prod/arn:aws:s3:::my-bucket",
		"SUB_LITERAL": "${NotAVar} prod",
		"LONG_SUB":    "s-prod",
		"ATT":         "arn:aws:s3:::my-bucket",
		"ATT_LIST":    "my-bucket.s3.amazonaws.com",
		"TOPIC_ARN":   "arn:aws:sns:eu-west-2:000000000000:my-topic",
		"GIVEN_ATT":   "http://my-bucket.local",
	}
	if !reflect.DeepEqual(env, want) {
		t.Errorf("ResolveEnv() = %v; want %v", env, want)
	}
	lists := map[string][]string{"Origins": {"https://a.example", "https://b.example"}, "Subnets": {"a", "b"}, "Stage": {"prod"}}
	for name, want := range lists {
		got, err := tp.ResolveList(Value{node: &yaml.Node{Kind: yaml.ScalarNode, Tag: "!Ref", Value: name}}, nil)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("ResolveList(!Ref %s) = %q, %v; want %q", name, got, err, want)
		}
	}

	errTests := []struct {
		name, ref, want string
		physical        map[string]string
	}{
		{"resource without a local name", "Bucket", "no local value for resource Bucket", nil},
		{"parameter without a value", "Required", "parameter Required has no Default and no value was given", physical},
		{"list as a string", "Origins", "is a list, not a string", physical},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tp.Resolve(Value{node: &yaml.Node{Kind: yaml.ScalarNode, Tag: "!Ref", Value: tt.ref}, file: "test.yaml"}, tt.physical)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Resolve(!Ref %s) error = %v; want it to contain %q", tt.ref, err, tt.want)
			}
		})
	}
	if _, err := tp.Resolve(fn.Environment["TOPIC_ARN"], map[string]string{"Topic": "t"}); err != nil {
		t.Errorf("Resolve(!GetAtt Topic.TopicArn) = %v", err)
	}
	if _, err := tp.Resolve(fn.Environment["ATT"], map[string]string{}); err == nil || !strings.Contains(err.Error(), "no local value for resource Bucket") {
		t.Errorf("Resolve(!GetAtt Bucket.Arn) without names: err = %v; want no local value for resource Bucket", err)
	}
}

// TestUnsupportedConstructs checks that Parse refuses what the local stack does not evaluate,
// naming it and its line, wherever it is (a resource the stack ignores included).
func TestUnsupportedConstructs(t *testing.T) {
	const head = "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: fn\n      Environment:\n        Variables:\n"
	env := func(value string) string { return head + "          V: " + value + "\n" } // V is on line 8
	const logGroup = "Resources:\n  Logs:\n    Type: AWS::Logs::LogGroup\n    Properties:\n      RetentionInDays: "
	event := func(typ, props string) string {
		return head[:strings.Index(head, "      Environment")] + "      Events:\n        E:\n          Type: " + typ + "\n          Properties: " + props + "\n"
	}
	tests := []struct {
		name, src, want string
	}{
		{"Fn::If", env("!If [IsProd, a, b]"), "bad.yaml:8: Fn::If is not supported by the local stack"},
		{"Fn::Join", env("!Join [',', [a, b]]"), "bad.yaml:8: Fn::Join is not supported"},
		{"Fn::Select", env("!Select [0, [a]]"), "bad.yaml:8: Fn::Select is not supported"},
		{"Fn::Split in Sub variables", env("!Sub ['${X}', {X: !Split [',', 'a,b']}]"), "bad.yaml:8: Fn::Split is not supported"},
		{"Fn::FindInMap", env("!FindInMap [M, a, b]"), "bad.yaml:8: Fn::FindInMap is not supported"},
		{"Fn::Base64", env("!Base64 hi"), "bad.yaml:8: Fn::Base64 is not supported"},
		{"Fn::GetAZs", env("!GetAZs ''"), "bad.yaml:8: Fn::GetAZs is not supported"},
		{"long Fn::ImportValue", env(`{"Fn::ImportValue": shared}`), "bad.yaml:8: Fn::ImportValue is not supported"},
		{"Condition", env("!Condition IsProd"), "bad.yaml:8: Condition is not supported"},
		{"Ref AWS::NoValue", env("!Ref AWS::NoValue"), "bad.yaml:8: Ref AWS::NoValue is not supported"},
		{"intrinsic inside a list", env("[a, !Join ['', [b]]]"), "bad.yaml:8: Fn::Join is not supported"},
		{"in a resource the stack ignores", logGroup + "!Select [0, [7]]\n", "bad.yaml:5: Fn::Select is not supported"},
		{"in Outputs", "Resources:\n  B:\n    Type: AWS::S3::Bucket\nOutputs:\n  O:\n    Value: !Join ['', [a]]\n", "bad.yaml:6: Fn::Join is not supported"},
		{"in Globals", "Globals:\n  Function:\n    Timeout: !If [C, 1, 2]\n" + head, "bad.yaml:3: Fn::If is not supported"},
		{"Ref to a list", env("!Ref [a]"), "bad.yaml:8: Ref takes the name of a parameter or resource"},
		{"GetAtt without attribute", env("!GetAtt Fn"), "bad.yaml:8: Fn::GetAtt takes Resource.Attribute or [Resource, Attribute]"},
		{"GetAtt with an intrinsic", env("!GetAtt [Fn, !Ref Fn]"), "bad.yaml:8: Fn::GetAtt takes Resource.Attribute"},
		{"Sub of a mapping", env("!Sub {a: b}"), "bad.yaml:8: Fn::Sub takes a string or [string, {Name: value, ...}]"},
		{"Conditions section", "Conditions:\n  IsProd: !Equals [a, a]\n" + head, "bad.yaml:1: section Conditions is not supported by the local stack"},
		{"Mappings section", "Mappings:\n  M: {a: {b: c}}\n" + head, "bad.yaml:1: section Mappings is not supported"},
		{"Rules section", "Rules:\n  R: {}\n" + head, "bad.yaml:1: section Rules is not supported"},
		{"misspelt section", "Resource:\n  X: {}\n" + head, "bad.yaml:1: section Resource is not supported"},
		{"resource Condition", "Resources:\n  B:\n    Type: AWS::S3::Bucket\n    Condition: IsProd\n", "bad.yaml:4: resource B: Condition is not supported"},
		{"Transform macro", "Transform: AWS::Include\n" + head, "bad.yaml:1: Transform AWS::Include is not supported"},
		{"other Transform", "Transform: [AWS::Serverless-2016-10-31, AWS::LanguageExtensions]\n" + head, "bad.yaml:1: Transform AWS::LanguageExtensions is not supported by the local stack"},
		{"Globals.Api", "Globals:\n  Api:\n    Cors: '*'\n" + head, "bad.yaml:2: Globals.Api is not supported"},
		{"Api event", event("Api", "{Path: /x, Method: get}"), "bad.yaml:8: Fn event E: event type Api is not supported by the local stack"},
		{"EventBridgeRule event", event("EventBridgeRule", "{Pattern: {source: [x]}}"), "event type EventBridgeRule is not supported"},
		{"DynamoDB event", event("DynamoDB", "{Stream: x}"), "event type DynamoDB is not supported"},
		{"ScheduleV2 without expression", event("ScheduleV2", "{Schedule: rate(1 day)}"), "bad.yaml:8: Fn event E: a ScheduleV2 event needs ScheduleExpression"},
		{"SNS without topic", event("SNS", "{}"), "a SNS event needs Topic"},
		{"SNS with a filter", event("SNS", "{Topic: x, FilterPolicy: {kind: [bounce]}}"), "bad.yaml:9: Fn event E: an SNS event's FilterPolicy is not supported"},
		{"SNS through a queue", event("SNS", "{Topic: x, SqsSubscription: true}"), "an SNS event's SqsSubscription is not supported"},
		{"SQS without queue", event("SQS", "{BatchSize: 1}"), "a SQS event needs Queue"},
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
		{"event destination without a set", "Resources:\n  D:\n    Type: AWS::SES::ConfigurationSetEventDestination\n    Properties:\n      EventDestination: {Enabled: true}\n",
			"bad.yaml:3: D: an event destination needs ConfigurationSetName and EventDestination"},
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

func TestParseServerlessTransformList(t *testing.T) {
	tp := mustParse(t, "Transform: [AWS::Serverless-2016-10-31]\nResources:\n  B:\n    Type: AWS::S3::Bucket\n")
	if len(tp.Buckets) != 1 {
		t.Errorf("Buckets = %+v; want B", tp.Buckets)
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
	want := tp.Tables[0].Definition.GlobalSecondaryIndexes
	if len(out.Table.GlobalSecondaryIndexes) != len(want) || len(want) == 0 {
		t.Errorf("created table's GSIs = %+v; want the template's %d", out.Table.GlobalSecondaryIndexes, len(want))
	}
	for _, g := range want {
		if !slices.ContainsFunc(out.Table.GlobalSecondaryIndexes, func(d types.GlobalSecondaryIndexDescription) bool {
			return aws.ToString(d.IndexName) == aws.ToString(g.IndexName)
		}) {
			t.Errorf("created table lacks %s", aws.ToString(g.IndexName))
		}
	}
}

func TestResolveValue(t *testing.T) {
	tp := mustLoad(t, testTemplate)
	fn, ok := tp.Function("DirectoryFunction")
	if !ok {
		t.Fatal("no DirectoryFunction")
	}
	got, err := tp.ResolveValue(fn.Policies, localNames(t, tp))
	if err != nil {
		t.Fatal(err)
	}
	want := []any{map[string]any{"Statement": []any{map[string]any{
		"Effect":    "Allow",
		"Action":    []any{"dynamodb:GetItem", "dynamodb:Query"},
		"Resource":  "arn:aws:dynamodb:eu-west-2:000000000000:table/sectorhub-local-Table",
		"Condition": map[string]any{"ForAllValues:StringLike": map[string]any{"dynamodb:LeadingKeys": []any{"DIRECTORY", "DIRECTORY#*"}}},
	}}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ResolveValue(DirectoryFunction's Policies) = %#v; want %#v", got, want)
	}
	if !tp.HasParameter("Stage") || tp.HasParameter("Nope") {
		t.Errorf("HasParameter(Stage), HasParameter(Nope) = %t, %t; want true, false", tp.HasParameter("Stage"), tp.HasParameter("Nope"))
	}
	if got, err := tp.ResolveValue(Value{}, nil); got != nil || err != nil {
		t.Errorf("ResolveValue(zero) = %v, %v; want nil, nil", got, err)
	}
}
