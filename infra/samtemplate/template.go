// Package samtemplate reads an AWS SAM template (template.yaml) the way the
// local stack needs it: functions with Globals applied, HTTP API routes and
// authorizers, S3 events and the events fired by hand, DynamoDB tables and
// buckets, and Ref, Fn::Sub and Fn::GetAtt evaluated against local names.
//
// It is not a SAM transform or a CloudFormation engine: it evaluates only what
// is listed below. Parse refuses every other section, intrinsic function and
// event type, and the other constructs named as refused below, with a file:line
// error naming it, so that the template cannot use something the local stack
// would silently get wrong. Properties the types below do not list configure AWS
// only (policies, log groups, lifecycle rules, ...) and are not read.
//
// Sections: AWSTemplateFormatVersion, Description, Metadata, Transform
// (AWS::Serverless-2016-10-31 only), Parameters (Type and Default; a
// CommaDelimitedList or List<...> parameter is a list), Globals (Function and
// HttpApi), Resources and Outputs. Conditions, Mappings and Rules are refused,
// and so is a resource's Condition attribute.
//
// Intrinsic functions, in short (!Sub) or long ({"Fn::Sub": ...}) form,
// anywhere in the template:
//
//   - Ref to a parameter, a resource or a pseudo parameter (AWS::Region,
//     AWS::AccountId, AWS::Partition, AWS::StackName, AWS::StackId,
//     AWS::URLSuffix);
//   - Fn::Sub with a string or [string, {Name: value}], and ${Name},
//     ${Resource.Attribute} and ${!Literal} in the string;
//   - Fn::GetAtt as Resource.Attribute or [Resource, Attribute].
//
// Every other intrinsic (Fn::If, Fn::Join, Fn::Select, Fn::Split,
// Fn::FindInMap, Fn::Base64, Fn::GetAZs, Fn::ImportValue, Condition, ...) is
// refused, and so is Ref AWS::NoValue. Resolve evaluates Fn::GetAtt for the ARNs
// and names of buckets, tables, functions, user pools, queues and topics, and
// for any Resource.Attribute its physical names give.
//
// Resources the local stack runs are read with the properties their types
// below document: AWS::Serverless::Function (Function; PackageType Image and
// InlineCode are refused), AWS::Serverless::HttpApi (API, Authorizer; JWT
// authorizers only), AWS::DynamoDB::Table and AWS::Serverless::SimpleTable
// (Table), AWS::S3::Bucket (Bucket) and AWS::SES::ConfigurationSetEventDestination
// (MailEventDestination). A resource of any other type (a log group, an alarm, a
// topic, a user pool, ...) is only a name for Ref and GetAtt: its properties are
// checked as above but not otherwise read (Resources lists them for checks of the
// template).
//
// Function events: HttpApi (Route), S3 (S3Event), and Schedule, ScheduleV2, SNS and SQS
// (Trigger; the schedules with their time zone, input, name and state). Any other event type
// is refused, and so is an SNS event's FilterPolicy or SqsSubscription (the local stack would
// deliver what they hold back).
package samtemplate

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"gopkg.in/yaml.v3"
)

// Template is a parsed SAM template.
type Template struct {
	// Path is the file the template was read from, as given to Load; errors
	// name it. Dir is its directory: CodeUri paths are relative to it.
	Path string
	Dir  string

	// Parameters holds each parameter's value: its Default, unless the caller
	// overrides it before resolving. Parameters without a Default are absent.
	Parameters map[string]string
	// Pseudo holds the pseudo parameters (AWS::Region, AWS::AccountId,
	// AWS::Partition, AWS::StackName, AWS::URLSuffix, ...) used when resolving;
	// callers may override them.
	Pseudo map[string]string

	Functions   []Function            // sorted by LogicalID
	Tables      []Table               // sorted by LogicalID
	Buckets     []Bucket              // sorted by LogicalID
	Routes      []Route               // every HttpApi event of every function, in function then event order
	S3Events    []S3Event             // every S3 event of every function
	Triggers    []Trigger             // every Schedule, ScheduleV2, SNS and SQS event, in function then event order
	APIs        []API                 // every AWS::Serverless::HttpApi, sorted by LogicalID
	Authorizers map[string]Authorizer // JWT authorizers of the HTTP APIs, by name
	// MailEventDestinations are the AWS::SES::ConfigurationSetEventDestination resources,
	// sorted by LogicalID.
	MailEventDestinations []MailEventDestination

	resources      map[string]resource
	parameterTypes map[string]string
}

type resource struct {
	LogicalID  string
	Type       string
	Properties *yaml.Node
	Node       *yaml.Node
}

// Function is an AWS::Serverless::Function with Globals.Function applied.
type Function struct {
	LogicalID     string
	Line          int
	Description   string
	FunctionName  string // the FunctionName property, usually empty
	CodeUri       string // relative to the template's directory
	Handler       string
	Runtime       string
	Architectures []string
	Timeout       time.Duration // 3 s when unset, as Lambda
	MemoryMB      int           // 128 when unset, as Lambda
	Environment   map[string]Value
	// LogFormat is "JSON" or "Text" (LoggingConfig.LogFormat); the log levels
	// apply to JSON logs only.
	LogFormat           string
	ApplicationLogLevel string
	SystemLogLevel      string
	Policies            Value
	// ReservedConcurrency is ReservedConcurrentExecutions: at most this many instances at
	// once (0 when unset: no reservation).
	ReservedConcurrency int
	// MaxRetryAttempts is EventInvokeConfig.MaximumRetryAttempts: how often Lambda retries a
	// failed asynchronous invocation (2 when unset, as Lambda).
	MaxRetryAttempts int
}

// Route is one HttpApi event: a route of an HTTP API integrated with a function.
type Route struct {
	FunctionID string
	EventID    string
	APIID      string // logical ID of the HttpApi ("ServerlessHttpApi" when implicit)
	// Method is upper case, "ANY" for any method; Method and Path are both
	// empty for the $default route.
	Method string
	Path   string
	// Authorizer names the route's authorizer ("" when none); Scopes are the
	// AuthorizationScopes the token must carry.
	Authorizer           string
	Scopes               []string
	PayloadFormatVersion string        // "2.0" unless set
	Timeout              time.Duration // integration timeout, 30 s unless set
}

// RouteKey returns the route key API Gateway uses: "GET /directory/organisations/{id}" or "$default".
func (r Route) RouteKey() string {
	if r.Method == "" && r.Path == "" {
		return "$default"
	}
	return r.Method + " " + r.Path
}

// S3Event is one S3 event of a function: objects created or removed in a bucket
// (as Events says), filtered by key prefix and suffix.
type S3Event struct {
	FunctionID      string
	EventID         string
	BucketLogicalID string
	Events          []string // e.g. "s3:ObjectCreated:*"
	Prefix, Suffix  string
}

// Trigger is an event of a function that is not an HTTP route or an S3 event: Type Schedule
// (an EventBridge rule), ScheduleV2 (EventBridge Scheduler), SNS or SQS. The local stack fires
// schedules on their timetable when asked (--schedules); any trigger can be fired by hand.
type Trigger struct {
	FunctionID string
	EventID    string
	Type       string
	// Schedule is the schedule expression ("rate(7 days)", "cron(...)"): the
	// Schedule property of a Schedule event, ScheduleExpression of a ScheduleV2.
	Schedule Value
	// Timezone is a ScheduleV2's ScheduleExpressionTimezone (an IANA name; UTC when absent).
	Timezone Value
	// Input is the JSON text a schedule delivers instead of its default event (Input).
	Input Value
	// Name is a schedule's Name, GroupName a ScheduleV2's schedule group ("default" when
	// absent); they make the ARN its default event names.
	Name, GroupName Value
	// Enabled is a Schedule's Enabled ("false" disables it); State is either type's State
	// ("DISABLED" disables it).
	Enabled, State Value
	// Topic is an SNS event's Topic (a topic ARN, usually !Ref of an AWS::SNS::Topic).
	Topic Value
	// Queue is an SQS event's Queue (a queue ARN, usually !GetAtt of an AWS::SQS::Queue).
	Queue Value
}

// MailEventDestination is an AWS::SES::ConfigurationSetEventDestination: the events of mail
// sent with a configuration set that SES publishes, and where to. The local stack publishes
// the mailbox simulator's bounces and complaints to the SNS ones.
type MailEventDestination struct {
	LogicalID string
	// ConfigurationSet is ConfigurationSetName: the configuration set's name (usually a !Ref of
	// an AWS::SES::ConfigurationSet, which gives its name).
	ConfigurationSet Value
	Name             Value // EventDestination.Name
	// Enabled is EventDestination.Enabled: SES publishes nothing to the destination unless it
	// is "true" (SES's default is false).
	Enabled Value
	// MatchingEventTypes are the events published, as CloudFormation spells them (bounce,
	// complaint, delivery, send, reject, open, click, renderingFailure, deliveryDelay,
	// subscription); compare them ignoring case.
	MatchingEventTypes []string
	// SNSTopic is SnsDestination.TopicARN (usually a !Ref of an AWS::SNS::Topic, which gives
	// its ARN); zero for a destination of another kind.
	SNSTopic Value
}

// Publishes reports whether d is a destination for events of eventType ("bounce"), ignoring case.
func (d MailEventDestination) Publishes(eventType string) bool {
	return slices.ContainsFunc(d.MatchingEventTypes, func(e string) bool { return strings.EqualFold(e, eventType) })
}

// Resource is a resource of the template as written, its properties unresolved
// (ResolveValue resolves them).
type Resource struct {
	LogicalID  string
	Type       string
	Properties Value
}

// Resources returns the template's resources of type typ (every resource when typ is ""),
// sorted by logical ID.
func (t *Template) Resources(typ string) []Resource {
	var out []Resource
	for _, id := range slices.Sorted(maps.Keys(t.resources)) {
		if res := t.resources[id]; typ == "" || res.Type == typ {
			out = append(out, Resource{LogicalID: id, Type: res.Type, Properties: t.value(res.Properties)})
		}
	}
	return out
}

// API is an AWS::Serverless::HttpApi (Globals.HttpApi applied).
type API struct {
	LogicalID         string
	DefaultAuthorizer string
	Cors              *Cors // nil without CorsConfiguration
}

// Cors is an HttpApi's CorsConfiguration. Each list Value resolves with
// ResolveList; MaxAge and AllowCredentials with Resolve.
type Cors struct {
	AllowOrigins, AllowMethods, AllowHeaders, ExposeHeaders Value
	MaxAge, AllowCredentials                                Value
}

// Authorizer is a JWT authorizer of an HttpApi.
type Authorizer struct {
	Name           string
	APIID          string
	IdentitySource string // "$request.header.Authorization" unless set
	Issuer         Value
	Audience       []Value
}

// Table is an AWS::DynamoDB::Table (or AWS::Serverless::SimpleTable).
type Table struct {
	LogicalID string
	// Definition is the table's CreateTableInput; TableName is left unset.
	Definition   dynamodb.CreateTableInput
	TTLAttribute string // "" unless TimeToLiveSpecification is enabled
	Name         Value  // the TableName property; usually absent
}

// Bucket is an AWS::S3::Bucket.
type Bucket struct {
	LogicalID string
	Name      Value // the BucketName property; zero when CloudFormation would generate one
	Versioned bool
}

// yamlLine picks the line out of yaml.v3's syntax errors.
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// Load reads and checks the template at path.
func Load(path string) (*Template, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read template: %w", err)
	}
	return Parse(path, data)
}

// Parse parses template data; path names the file in errors and its
// directory is the base of CodeUri paths.
func Parse(path string, data []byte) (*Template, error) {
	t := &Template{
		Path:           path,
		Dir:            filepath.Dir(path),
		Parameters:     map[string]string{},
		Pseudo:         defaultPseudo(),
		Authorizers:    map[string]Authorizer{},
		resources:      map[string]resource{},
		parameterTypes: map[string]string{},
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
			return nil, fmt.Errorf("%s:%s: %s", path, m[1], m[2])
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(bytes.TrimSpace(data)) == 0 || len(doc.Content) == 0 {
		return nil, fmt.Errorf("%s: empty template", path)
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, t.errorf(root, "a template must be a mapping of sections (Resources, Parameters, ...)")
	}
	if err := t.parseSections(root); err != nil {
		return nil, err
	}
	var errs []error
	for _, section := range []string{"Globals", "Resources", "Outputs"} {
		t.check(mapGet(root, section), &errs)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	globals := mapGet(root, "Globals")
	for _, id := range slices.Sorted(maps.Keys(t.resources)) {
		res := t.resources[id]
		var err error
		switch res.Type {
		case "AWS::Serverless::Function":
			err = t.addFunction(res, mapGet(globals, "Function"))
		case "AWS::Serverless::HttpApi":
			err = t.addAPI(res, mapGet(globals, "HttpApi"))
		case "AWS::DynamoDB::Table", "AWS::Serverless::SimpleTable":
			err = t.addTable(res)
		case "AWS::S3::Bucket":
			err = t.addBucket(res)
		case "AWS::SES::ConfigurationSetEventDestination":
			err = t.addMailEventDestination(res)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if err := t.checkEvents(); err != nil {
		return nil, err
	}
	return t, nil
}

func (t *Template) errorf(n *yaml.Node, format string, args ...any) error {
	if n == nil || n.Line == 0 {
		return fmt.Errorf("%s: "+format, append([]any{t.Path}, args...)...)
	}
	return fmt.Errorf("%s:%d: "+format, append([]any{t.Path, n.Line}, args...)...)
}

// sections are the top-level sections Parse reads or ignores harmlessly.
var sections = []string{"AWSTemplateFormatVersion", "Description", "Metadata", "Transform", "Parameters", "Globals", "Resources", "Outputs"}

// serverlessTransform is the only Transform the template may declare.
const serverlessTransform = "AWS::Serverless-2016-10-31"

func (t *Template) parseSections(root *yaml.Node) error {
	for i := 0; i+1 < len(root.Content); i += 2 {
		if k := root.Content[i]; !slices.Contains(sections, k.Value) {
			return t.errorf(k, "section %s is not supported by the local stack", k.Value)
		}
	}
	if tr := mapGet(root, "Transform"); tr != nil {
		transforms := []*yaml.Node{tr}
		if tr.Kind == yaml.SequenceNode {
			transforms = tr.Content
		}
		for _, n := range transforms {
			if !isLiteral(n) || n.Value != serverlessTransform {
				return t.errorf(n, "Transform %s is not supported by the local stack (only %s is)", Value{node: n}, serverlessTransform)
			}
		}
	}
	if globals := mapGet(root, "Globals"); globals != nil {
		for i := 0; i+1 < len(globals.Content); i += 2 {
			if k := globals.Content[i]; k.Value != "Function" && k.Value != "HttpApi" {
				return t.errorf(k, "Globals.%s is not supported by the local stack (only Function and HttpApi are)", k.Value)
			}
		}
	}
	params := mapGet(root, "Parameters")
	if params != nil && params.Kind != yaml.MappingNode {
		return t.errorf(params, "Parameters must be a mapping")
	}
	if params != nil {
		for i := 0; i+1 < len(params.Content); i += 2 {
			name, p := params.Content[i].Value, params.Content[i+1]
			typ := mapGet(p, "Type")
			if typ == nil {
				return t.errorf(p, "parameter %s has no Type", name)
			}
			t.parameterTypes[name] = typ.Value
			if def := mapGet(p, "Default"); def != nil {
				t.Parameters[name] = def.Value
			}
		}
	}
	resources := mapGet(root, "Resources")
	if resources == nil {
		return fmt.Errorf("%s: no Resources section", t.Path)
	}
	if resources.Kind != yaml.MappingNode || len(resources.Content) == 0 {
		return t.errorf(resources, "Resources must be a non-empty mapping of logical IDs to resources")
	}
	for i := 0; i+1 < len(resources.Content); i += 2 {
		id, n := resources.Content[i].Value, resources.Content[i+1]
		typ := mapGet(n, "Type")
		if n.Kind != yaml.MappingNode || typ == nil || typ.Value == "" {
			return t.errorf(resources.Content[i], "resource %s has no Type", id)
		}
		if c := mapGet(n, "Condition"); c != nil {
			return t.errorf(c, "resource %s: Condition is not supported by the local stack", id)
		}
		props := mapGet(n, "Properties")
		if props == nil {
			props = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: n.Line}
		}
		t.resources[id] = resource{LogicalID: id, Type: typ.Value, Properties: props, Node: n}
	}
	return nil
}

// mergeGlobals applies a Globals section to a resource's properties as SAM
// does: mappings merge key by key, lists are concatenated (globals first),
// and any other value in the resource replaces the global one.
func mergeGlobals(global, local *yaml.Node) *yaml.Node {
	if global == nil {
		return local
	}
	if local == nil {
		return global
	}
	_, _, gi := intrinsic(global)
	_, _, li := intrinsic(local)
	if gi || li || global.Kind != local.Kind {
		return local
	}
	switch local.Kind {
	case yaml.MappingNode:
		out := &yaml.Node{Kind: yaml.MappingNode, Tag: local.Tag, Line: local.Line, Column: local.Column}
		seen := map[string]bool{}
		for i := 0; i+1 < len(global.Content); i += 2 {
			k := global.Content[i]
			seen[k.Value] = true
			out.Content = append(out.Content, k, mergeGlobals(global.Content[i+1], mapGet(local, k.Value)))
		}
		for i := 0; i+1 < len(local.Content); i += 2 {
			if !seen[local.Content[i].Value] {
				out.Content = append(out.Content, local.Content[i], local.Content[i+1])
			}
		}
		return out
	case yaml.SequenceNode:
		out := *local
		out.Content = append(append([]*yaml.Node{}, global.Content...), local.Content...)
		return &out
	}
	return local
}

// static resolves a property that must not depend on resources.
func (t *Template) static(n *yaml.Node) (string, error) {
	if n == nil {
		return "", nil
	}
	return t.Resolve(Value{node: n, file: t.Path}, nil)
}

func (t *Template) staticList(n *yaml.Node) ([]string, error) {
	if n == nil {
		return nil, nil
	}
	return t.ResolveList(Value{node: n, file: t.Path}, nil)
}

func (t *Template) value(n *yaml.Node) Value {
	if n == nil {
		return Value{}
	}
	return Value{node: n, file: t.Path}
}

func (t *Template) staticInt(n *yaml.Node, what string, def int) (int, error) {
	s, err := t.static(n)
	if err != nil || s == "" {
		return def, err
	}
	i, err := strconv.Atoi(s)
	if err != nil {
		return 0, t.errorf(n, "%s %q is not a whole number", what, s)
	}
	return i, nil
}

func (t *Template) addFunction(res resource, global *yaml.Node) error {
	p := mergeGlobals(global, res.Properties)
	fn := Function{LogicalID: res.LogicalID, Line: res.Node.Line, Environment: map[string]Value{}, Policies: t.value(mapGet(p, "Policies"))}
	if pt := mapGet(p, "PackageType"); pt != nil && pt.Value == "Image" {
		return t.errorf(pt, "%s: PackageType Image is not supported by the local stack", res.LogicalID)
	}
	if mapGet(p, "InlineCode") != nil {
		return t.errorf(mapGet(p, "InlineCode"), "%s: InlineCode is not supported by the local stack", res.LogicalID)
	}
	code := mapGet(p, "CodeUri")
	if code == nil {
		return t.errorf(res.Node, "%s has no CodeUri", res.LogicalID)
	}
	if code.Kind != yaml.ScalarNode || isCustomTag(code.Tag) {
		return t.errorf(code, "%s: CodeUri must be a local directory", res.LogicalID)
	}
	fn.CodeUri = code.Value
	var err error
	strs := []struct {
		key  string
		into *string
	}{{"Handler", &fn.Handler}, {"Runtime", &fn.Runtime}, {"Description", &fn.Description}, {"FunctionName", &fn.FunctionName}}
	for _, s := range strs {
		if *s.into, err = t.static(mapGet(p, s.key)); err != nil {
			return err
		}
	}
	if fn.Architectures, err = t.staticList(mapGet(p, "Architectures")); err != nil {
		return err
	}
	if len(fn.Architectures) == 0 {
		fn.Architectures = []string{"x86_64"}
	}
	secs, err := t.staticInt(mapGet(p, "Timeout"), "Timeout", 3)
	if err != nil {
		return err
	}
	fn.Timeout = time.Duration(secs) * time.Second
	if fn.MemoryMB, err = t.staticInt(mapGet(p, "MemorySize"), "MemorySize", 128); err != nil {
		return err
	}
	if fn.ReservedConcurrency, err = t.staticInt(mapGet(p, "ReservedConcurrentExecutions"), "ReservedConcurrentExecutions", 0); err != nil {
		return err
	}
	if fn.MaxRetryAttempts, err = t.staticInt(mapGet(mapGet(p, "EventInvokeConfig"), "MaximumRetryAttempts"), "MaximumRetryAttempts", 2); err != nil {
		return err
	}
	logging := mapGet(p, "LoggingConfig")
	if fn.LogFormat, err = t.static(mapGet(logging, "LogFormat")); err != nil {
		return err
	}
	if fn.LogFormat == "" {
		fn.LogFormat = "Text"
	}
	if fn.ApplicationLogLevel, err = t.static(mapGet(logging, "ApplicationLogLevel")); err != nil {
		return err
	}
	if fn.SystemLogLevel, err = t.static(mapGet(logging, "SystemLogLevel")); err != nil {
		return err
	}
	if vars := mapGet(mapGet(p, "Environment"), "Variables"); vars != nil {
		if vars.Kind != yaml.MappingNode {
			return t.errorf(vars, "%s: Environment.Variables must be a mapping", res.LogicalID)
		}
		for i := 0; i+1 < len(vars.Content); i += 2 {
			fn.Environment[vars.Content[i].Value] = t.value(vars.Content[i+1])
		}
	}
	t.Functions = append(t.Functions, fn)
	events := mapGet(p, "Events")
	if events == nil {
		return nil
	}
	if events.Kind != yaml.MappingNode {
		return t.errorf(events, "%s: Events must be a mapping", res.LogicalID)
	}
	for i := 0; i+1 < len(events.Content); i += 2 {
		if err := t.addEvent(res.LogicalID, events.Content[i].Value, events.Content[i+1]); err != nil {
			return err
		}
	}
	return nil
}

func (t *Template) addEvent(fnID, eventID string, ev *yaml.Node) error {
	typ := mapGet(ev, "Type")
	if typ == nil {
		return t.errorf(ev, "%s event %s has no Type", fnID, eventID)
	}
	p := mapGet(ev, "Properties")
	tr := Trigger{FunctionID: fnID, EventID: eventID, Type: typ.Value}
	var required string // the property that names the trigger's source
	switch typ.Value {
	case "HttpApi":
		return t.addRoute(fnID, eventID, ev, p)
	case "S3":
		return t.addS3Event(fnID, eventID, ev, p)
	case "Schedule":
		required, tr.Schedule = "Schedule", t.value(mapGet(p, "Schedule"))
		tr.Enabled = t.value(mapGet(p, "Enabled"))
	case "ScheduleV2":
		required, tr.Schedule = "ScheduleExpression", t.value(mapGet(p, "ScheduleExpression"))
		tr.Timezone, tr.GroupName = t.value(mapGet(p, "ScheduleExpressionTimezone")), t.value(mapGet(p, "GroupName"))
	case "SNS":
		required, tr.Topic = "Topic", t.value(mapGet(p, "Topic"))
		for _, prop := range []string{"FilterPolicy", "SqsSubscription"} {
			if n := mapGet(p, prop); n != nil {
				return t.errorf(n, "%s event %s: an SNS event's %s is not supported by the local stack (it would deliver every message to the function)", fnID, eventID, prop)
			}
		}
	case "SQS":
		required, tr.Queue = "Queue", t.value(mapGet(p, "Queue"))
	default:
		return t.errorf(typ, "%s event %s: event type %s is not supported by the local stack (HttpApi, S3, Schedule, ScheduleV2, SNS and SQS are)", fnID, eventID, typ.Value)
	}
	if mapGet(p, required) == nil {
		return t.errorf(ev, "%s event %s: a %s event needs %s", fnID, eventID, typ.Value, required)
	}
	if tr.Type == "Schedule" || tr.Type == "ScheduleV2" {
		tr.Input, tr.Name, tr.State = t.value(mapGet(p, "Input")), t.value(mapGet(p, "Name")), t.value(mapGet(p, "State"))
	}
	t.Triggers = append(t.Triggers, tr)
	return nil
}

func (t *Template) addRoute(fnID, eventID string, ev, p *yaml.Node) error {
	r := Route{FunctionID: fnID, EventID: eventID, APIID: "ServerlessHttpApi", PayloadFormatVersion: "2.0", Timeout: 30 * time.Second}
	if api := mapGet(p, "ApiId"); api != nil {
		name, arg, ok := intrinsic(api)
		if !ok || name != "Ref" || arg.Kind != yaml.ScalarNode || t.resources[arg.Value].Type != "AWS::Serverless::HttpApi" {
			return t.errorf(api, "%s event %s: ApiId must be a !Ref to an AWS::Serverless::HttpApi in this template", fnID, eventID)
		}
		r.APIID = arg.Value
	}
	var err error
	if r.Method, err = t.static(mapGet(p, "Method")); err != nil {
		return err
	}
	if r.Path, err = t.static(mapGet(p, "Path")); err != nil {
		return err
	}
	r.Method = strings.ToUpper(r.Method)
	if r.Method != "" && r.Path == "" || r.Method == "" && r.Path != "" {
		return t.errorf(ev, "%s event %s: give both Method and Path, or neither for the $default route", fnID, eventID)
	}
	if r.Path != "" && !strings.HasPrefix(r.Path, "/") {
		return t.errorf(mapGet(p, "Path"), "%s event %s: Path %q must start with /", fnID, eventID, r.Path)
	}
	if v, err := t.static(mapGet(p, "PayloadFormatVersion")); err != nil {
		return err
	} else if v != "" {
		r.PayloadFormatVersion = v
	}
	ms, err := t.staticInt(mapGet(p, "TimeoutInMillis"), "TimeoutInMillis", 30000)
	if err != nil {
		return err
	}
	r.Timeout = time.Duration(ms) * time.Millisecond
	if auth := mapGet(p, "Auth"); auth != nil {
		if r.Authorizer, err = t.static(mapGet(auth, "Authorizer")); err != nil {
			return err
		}
		if r.Scopes, err = t.staticList(mapGet(auth, "AuthorizationScopes")); err != nil {
			return err
		}
	}
	if r.Authorizer == "" {
		r.Authorizer = "\x00default"
	}
	t.Routes = append(t.Routes, r)
	return nil
}

func (t *Template) addS3Event(fnID, eventID string, ev, p *yaml.Node) error {
	e := S3Event{FunctionID: fnID, EventID: eventID}
	bucket := mapGet(p, "Bucket")
	name, arg, ok := "", (*yaml.Node)(nil), false
	if bucket != nil {
		name, arg, ok = intrinsic(bucket)
	}
	if !ok || name != "Ref" || arg.Kind != yaml.ScalarNode || t.resources[arg.Value].Type != "AWS::S3::Bucket" {
		return t.errorf(ev, "%s event %s: Bucket must be a !Ref to an AWS::S3::Bucket in this template", fnID, eventID)
	}
	e.BucketLogicalID = arg.Value
	var err error
	if e.Events, err = t.staticList(mapGet(p, "Events")); err != nil {
		return err
	}
	if len(e.Events) == 0 {
		return t.errorf(ev, "%s event %s: no Events", fnID, eventID)
	}
	rules := mapGet(mapGet(mapGet(p, "Filter"), "S3Key"), "Rules")
	if rules != nil {
		for _, rule := range rules.Content {
			n, err := t.static(mapGet(rule, "Name"))
			if err != nil {
				return err
			}
			v, err := t.static(mapGet(rule, "Value"))
			if err != nil {
				return err
			}
			switch strings.ToLower(n) {
			case "prefix":
				e.Prefix = v
			case "suffix":
				e.Suffix = v
			default:
				return t.errorf(rule, "%s event %s: filter rule %q must be prefix or suffix", fnID, eventID, n)
			}
		}
	}
	t.S3Events = append(t.S3Events, e)
	return nil
}

func (t *Template) addAPI(res resource, global *yaml.Node) error {
	p := mergeGlobals(global, res.Properties)
	api := API{LogicalID: res.LogicalID}
	auth := mapGet(p, "Auth")
	var err error
	if api.DefaultAuthorizer, err = t.static(mapGet(auth, "DefaultAuthorizer")); err != nil {
		return err
	}
	if authorizers := mapGet(auth, "Authorizers"); authorizers != nil {
		for i := 0; i+1 < len(authorizers.Content); i += 2 {
			name, a := authorizers.Content[i].Value, authorizers.Content[i+1]
			jwt := mapGet(a, "JwtConfiguration")
			if jwt == nil {
				return t.errorf(a, "authorizer %s: only JWT authorizers (JwtConfiguration) are supported by the local stack", name)
			}
			az := Authorizer{Name: name, APIID: res.LogicalID, IdentitySource: "$request.header.Authorization", Issuer: t.value(mapGet(jwt, "issuer"))}
			if src, err := t.static(mapGet(a, "IdentitySource")); err != nil {
				return err
			} else if src != "" {
				az.IdentitySource = src
			}
			if az.Issuer.IsZero() {
				return t.errorf(jwt, "authorizer %s has no issuer", name)
			}
			if aud := mapGet(jwt, "audience"); aud != nil {
				if aud.Kind == yaml.SequenceNode && !isCustomTag(aud.Tag) {
					for _, c := range aud.Content {
						az.Audience = append(az.Audience, t.value(c))
					}
				} else {
					az.Audience = []Value{t.value(aud)}
				}
			}
			if _, dup := t.Authorizers[name]; dup {
				return t.errorf(a, "authorizer %s is defined twice", name)
			}
			t.Authorizers[name] = az
		}
	}
	if cors := mapGet(p, "CorsConfiguration"); cors != nil {
		if cors.Kind == yaml.ScalarNode {
			on, err := t.static(cors)
			if err != nil {
				return err
			}
			if on == "true" {
				star := Literal("*")
				api.Cors = &Cors{AllowOrigins: star, AllowMethods: star, AllowHeaders: star}
			}
		} else {
			api.Cors = &Cors{
				AllowOrigins:     t.value(mapGet(cors, "AllowOrigins")),
				AllowMethods:     t.value(mapGet(cors, "AllowMethods")),
				AllowHeaders:     t.value(mapGet(cors, "AllowHeaders")),
				ExposeHeaders:    t.value(mapGet(cors, "ExposeHeaders")),
				MaxAge:           t.value(mapGet(cors, "MaxAge")),
				AllowCredentials: t.value(mapGet(cors, "AllowCredentials")),
			}
		}
	}
	t.APIs = append(t.APIs, api)
	return nil
}

// checkEvents resolves default authorizers and checks that every route's
// authorizer exists, once all APIs are known.
func (t *Template) checkEvents() error {
	apis := map[string]API{}
	for _, a := range t.APIs {
		apis[a.LogicalID] = a
	}
	for i := range t.Routes {
		r := &t.Routes[i]
		if r.Authorizer == "\x00default" {
			r.Authorizer = apis[r.APIID].DefaultAuthorizer
		}
		if r.Authorizer == "NONE" {
			r.Authorizer = ""
		}
		if r.Authorizer == "" {
			continue
		}
		if a, ok := t.Authorizers[r.Authorizer]; !ok || a.APIID != r.APIID {
			return t.errorf(t.resources[r.FunctionID].Node, "%s event %s: no authorizer %s on %s", r.FunctionID, r.EventID, r.Authorizer, r.APIID)
		}
	}
	return nil
}

func (t *Template) addBucket(res resource) error {
	b := Bucket{LogicalID: res.LogicalID, Name: t.value(mapGet(res.Properties, "BucketName"))}
	status, err := t.static(mapGet(mapGet(res.Properties, "VersioningConfiguration"), "Status"))
	if err != nil {
		return err
	}
	b.Versioned = status == "Enabled"
	t.Buckets = append(t.Buckets, b)
	return nil
}

func (t *Template) addMailEventDestination(res resource) error {
	dest := mapGet(res.Properties, "EventDestination")
	d := MailEventDestination{
		LogicalID:        res.LogicalID,
		ConfigurationSet: t.value(mapGet(res.Properties, "ConfigurationSetName")),
		Name:             t.value(mapGet(dest, "Name")),
		Enabled:          t.value(mapGet(dest, "Enabled")),
		SNSTopic:         t.value(mapGet(mapGet(dest, "SnsDestination"), "TopicARN")),
	}
	if d.ConfigurationSet.IsZero() || dest == nil {
		return t.errorf(res.Node, "%s: an event destination needs ConfigurationSetName and EventDestination", res.LogicalID)
	}
	var err error
	if d.MatchingEventTypes, err = t.staticList(mapGet(dest, "MatchingEventTypes")); err != nil {
		return err
	}
	t.MailEventDestinations = append(t.MailEventDestinations, d)
	return nil
}

// LocalNames returns the physical names the local stack gives the template's
// resources, for Resolve: tables are named by tableName, buckets by their
// resolved BucketName (or stack-logicalid, lower case), Cognito user pools
// and clients get fixed local IDs, HTTP APIs the ID "local", functions their
// FunctionName or logical ID, SES configuration sets their resolved Name (Ref gives
// it), SNS topics their ARN (as Ref does; their name, TopicName or stack-logicalid,
// is the TopicName attribute), and anything else its logical ID.
func (t *Template) LocalNames(tableName func(logicalID string) string) (map[string]string, error) {
	names := map[string]string{}
	slug := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		if r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return -1
	}, t.Pseudo["AWS::StackName"])
	suffix := func(id, usual string) string {
		if id == usual {
			return ""
		}
		return strings.ToLower(id)
	}
	for id, res := range t.resources {
		switch res.Type {
		case "AWS::DynamoDB::Table", "AWS::Serverless::SimpleTable":
			names[id] = tableName(id)
		case "AWS::Cognito::UserPool":
			names[id] = t.Pseudo["AWS::Region"] + "_" + slug + suffix(id, "UserPool")
		case "AWS::Cognito::UserPoolClient":
			names[id] = slug + suffix(id, "UserPoolClient") + "client"
		case "AWS::Serverless::HttpApi", "AWS::ApiGatewayV2::Api":
			names[id] = "local" + suffix(id, "Api")
		default:
			names[id] = id
		}
	}
	for _, fn := range t.Functions {
		if fn.FunctionName != "" {
			names[fn.LogicalID] = fn.FunctionName
		}
	}
	for _, b := range t.Buckets {
		if b.Name.IsZero() {
			names[b.LogicalID] = strings.ToLower(t.Pseudo["AWS::StackName"] + "-" + b.LogicalID)
			continue
		}
		name, err := t.Resolve(b.Name, names)
		if err != nil {
			return nil, fmt.Errorf("bucket %s name: %w", b.LogicalID, err)
		}
		names[b.LogicalID] = name
	}
	p := t.Pseudo
	for _, r := range t.Resources("AWS::SNS::Topic") {
		name := p["AWS::StackName"] + "-" + r.LogicalID
		if n := mapGet(t.resources[r.LogicalID].Properties, "TopicName"); n != nil {
			var err error
			if name, err = t.Resolve(t.value(n), names); err != nil {
				return nil, fmt.Errorf("topic %s name: %w", r.LogicalID, err)
			}
		}
		arn := "arn:" + p["AWS::Partition"] + ":sns:" + p["AWS::Region"] + ":" + p["AWS::AccountId"] + ":" + name
		names[r.LogicalID], names[r.LogicalID+".TopicName"], names[r.LogicalID+".TopicArn"] = arn, name, arn
	}
	for _, r := range t.Resources("AWS::SES::ConfigurationSet") {
		if n := mapGet(t.resources[r.LogicalID].Properties, "Name"); n != nil {
			name, err := t.Resolve(t.value(n), names)
			if err != nil {
				return nil, fmt.Errorf("configuration set %s name: %w", r.LogicalID, err)
			}
			names[r.LogicalID] = name
		}
	}
	return names, nil
}

// HasParameter reports whether the template declares the parameter name.
func (t *Template) HasParameter(name string) bool {
	_, ok := t.parameterTypes[name]
	return ok
}

// Function returns the function with the given logical ID.
func (t *Template) Function(logicalID string) (Function, bool) {
	for _, fn := range t.Functions {
		if fn.LogicalID == logicalID {
			return fn, true
		}
	}
	return Function{}, false
}
