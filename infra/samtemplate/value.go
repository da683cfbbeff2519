package samtemplate

import (
	"encoding/base64"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Value is an unresolved template value: a literal or an intrinsic function
// call (!Ref, !Sub, {"Fn::GetAtt": ...}, ...), remembered with the line it came
// from so that errors can point at it. Resolve evaluates it.
type Value struct {
	node *yaml.Node
	file string
}

// Literal returns a Value holding the plain string s.
func Literal(s string) Value {
	return Value{node: &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}}
}

// IsZero reports whether v holds nothing (the property was absent).
func (v Value) IsZero() bool { return v.node == nil }

// Line returns the template line v came from (0 if unknown).
func (v Value) Line() int {
	if v.node == nil {
		return 0
	}
	return v.node.Line
}

// String renders v for messages: the literal itself, or the intrinsic in YAML.
func (v Value) String() string {
	if v.node == nil {
		return ""
	}
	if v.node.Kind == yaml.ScalarNode && !isCustomTag(v.node.Tag) {
		return v.node.Value
	}
	out, err := yaml.Marshal(v.node)
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return strings.TrimSpace(string(out))
}

// pseudoParameters are the values the local stack gives AWS pseudo parameters.
func defaultPseudo() map[string]string {
	return map[string]string{
		"AWS::Region":           "eu-west-2",
		"AWS::AccountId":        "000000000000",
		"AWS::Partition":        "aws",
		"AWS::StackName":        "sectorhub-local",
		"AWS::StackId":          "arn:aws:cloudformation:eu-west-2:000000000000:stack/sectorhub-local/00000000-0000-0000-0000-000000000000",
		"AWS::URLSuffix":        "amazonaws.com",
		"AWS::NotificationARNs": "",
	}
}

// noValue is what Ref AWS::NoValue evaluates to: the enclosing key or list
// element disappears.
type noValue struct{}

// Resolve evaluates v to a string against the template's parameters, pseudo
// parameters and physical, the local physical names of resources (keyed by
// logical ID for Ref, and optionally "LogicalID.Attribute" for GetAtt).
func (t *Template) Resolve(v Value, physical map[string]string) (string, error) {
	if v.node == nil {
		return "", nil
	}
	r := resolver{t: t, physical: physical}
	out, err := r.eval(v.node)
	if err != nil {
		return "", err
	}
	switch x := out.(type) {
	case string:
		return x, nil
	case noValue:
		return "", nil
	default:
		return "", t.errorf(v.node, "%s is a %s, not a string", v, kindName(out))
	}
}

// ResolveList evaluates v to a list of strings: a YAML sequence, an intrinsic
// yielding a list (a CommaDelimitedList parameter, Fn::Split), or a single string.
func (t *Template) ResolveList(v Value, physical map[string]string) ([]string, error) {
	if v.node == nil {
		return nil, nil
	}
	r := resolver{t: t, physical: physical}
	out, err := r.eval(v.node)
	if err != nil {
		return nil, err
	}
	switch x := out.(type) {
	case string:
		return []string{x}, nil
	case noValue:
		return nil, nil
	case []any:
		list := make([]string, 0, len(x))
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, t.errorf(v.node, "%s contains a %s, not a string", v, kindName(e))
			}
			list = append(list, s)
		}
		return list, nil
	default:
		return nil, t.errorf(v.node, "%s is a %s, not a list", v, kindName(out))
	}
}

// ResolveEnv resolves fn's Environment variables (Globals merged in).
// A variable whose value is Ref AWS::NoValue is left out.
func (t *Template) ResolveEnv(fn Function, physical map[string]string) (map[string]string, error) {
	env := make(map[string]string, len(fn.Environment))
	for _, name := range slices.Sorted(maps.Keys(fn.Environment)) {
		v := fn.Environment[name]
		r := resolver{t: t, physical: physical}
		out, err := r.eval(v.node)
		if err != nil {
			return nil, fmt.Errorf("%s environment %s: %w", fn.LogicalID, name, err)
		}
		switch x := out.(type) {
		case noValue:
		case string:
			env[name] = x
		default:
			return nil, t.errorf(v.node, "%s environment %s is a %s, not a string", fn.LogicalID, name, kindName(out))
		}
	}
	return env, nil
}

func kindName(v any) string {
	switch v.(type) {
	case []any:
		return "list"
	case map[string]any:
		return "mapping"
	case bool:
		return "condition"
	case nil:
		return "null"
	default:
		return "value"
	}
}

func isCustomTag(tag string) bool {
	return strings.HasPrefix(tag, "!") && !strings.HasPrefix(tag, "!!")
}

// intrinsic reports whether n is an intrinsic function call and returns its
// long name ("Ref", "Fn::Sub", "Condition") and argument node.
func intrinsic(n *yaml.Node, inCondition bool) (name string, arg *yaml.Node, ok bool) {
	if isCustomTag(n.Tag) {
		short := strings.TrimPrefix(n.Tag, "!")
		arg := *n
		switch arg.Kind {
		case yaml.ScalarNode:
			arg.Tag = "!!str"
		case yaml.SequenceNode:
			arg.Tag = "!!seq"
		case yaml.MappingNode:
			arg.Tag = "!!map"
		}
		switch short {
		case "Ref", "Condition":
			return short, &arg, true
		default:
			return "Fn::" + short, &arg, true
		}
	}
	if n.Kind == yaml.MappingNode && len(n.Content) == 2 {
		key := n.Content[0].Value
		if key == "Ref" || strings.HasPrefix(key, "Fn::") || (inCondition && key == "Condition") {
			return key, n.Content[1], true
		}
	}
	return "", nil, false
}

type resolver struct {
	t        *Template
	physical map[string]string
	depth    int
}

func (r *resolver) eval(n *yaml.Node) (any, error) {
	r.depth++
	defer func() { r.depth-- }()
	if r.depth > 100 {
		return nil, r.t.errorf(n, "intrinsic functions nested too deeply")
	}
	if name, arg, ok := intrinsic(n, false); ok {
		return r.call(n, name, arg)
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return r.eval(n.Content[0])
	case yaml.AliasNode:
		return r.eval(n.Alias)
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return nil, nil
		}
		return n.Value, nil
	case yaml.SequenceNode:
		list := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := r.eval(c)
			if err != nil {
				return nil, err
			}
			if _, skip := v.(noValue); skip {
				continue
			}
			list = append(list, v)
		}
		return list, nil
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			v, err := r.eval(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			if _, skip := v.(noValue); skip {
				continue
			}
			m[n.Content[i].Value] = v
		}
		return m, nil
	}
	return nil, r.t.errorf(n, "unexpected YAML node")
}

func (r *resolver) str(n *yaml.Node, what string) (string, error) {
	v, err := r.eval(n)
	if err != nil {
		return "", err
	}
	s, ok := v.(string)
	if !ok {
		return "", r.t.errorf(n, "%s must be a string, not a %s", what, kindName(v))
	}
	return s, nil
}

func (r *resolver) list(n *yaml.Node, what string) ([]any, error) {
	v, err := r.eval(n)
	if err != nil {
		return nil, err
	}
	l, ok := v.([]any)
	if !ok {
		return nil, r.t.errorf(n, "%s must be a list, not a %s", what, kindName(v))
	}
	return l, nil
}

// args returns the elements of a sequence argument, checking their number.
func (r *resolver) args(n *yaml.Node, fn string, want int) ([]*yaml.Node, error) {
	if n.Kind != yaml.SequenceNode || len(n.Content) != want {
		return nil, r.t.errorf(n, "%s takes a list of %d arguments", fn, want)
	}
	return n.Content, nil
}

func (r *resolver) call(n *yaml.Node, name string, arg *yaml.Node) (any, error) {
	switch name {
	case "Ref":
		target, err := r.str(arg, "Ref's argument")
		if err != nil {
			return nil, err
		}
		return r.ref(n, target)
	case "Fn::GetAtt":
		res, attr, err := r.getAttArgs(arg)
		if err != nil {
			return nil, err
		}
		return r.getAtt(n, res, attr)
	case "Fn::Sub":
		return r.sub(arg)
	case "Fn::Join":
		a, err := r.args(arg, name, 2)
		if err != nil {
			return nil, err
		}
		sep, err := r.str(a[0], "Fn::Join's delimiter")
		if err != nil {
			return nil, err
		}
		items, err := r.list(a[1], "Fn::Join's values")
		if err != nil {
			return nil, err
		}
		parts := make([]string, len(items))
		for i, it := range items {
			s, ok := it.(string)
			if !ok {
				return nil, r.t.errorf(a[1], "Fn::Join's values must be strings, not a %s", kindName(it))
			}
			parts[i] = s
		}
		return strings.Join(parts, sep), nil
	case "Fn::Select":
		a, err := r.args(arg, name, 2)
		if err != nil {
			return nil, err
		}
		is, err := r.str(a[0], "Fn::Select's index")
		if err != nil {
			return nil, err
		}
		i, err := strconv.Atoi(is)
		if err != nil {
			return nil, r.t.errorf(a[0], "Fn::Select's index %q is not a number", is)
		}
		items, err := r.list(a[1], "Fn::Select's values")
		if err != nil {
			return nil, err
		}
		if i < 0 || i >= len(items) {
			return nil, r.t.errorf(a[0], "Fn::Select index %d out of range (list has %d)", i, len(items))
		}
		return items[i], nil
	case "Fn::Split":
		a, err := r.args(arg, name, 2)
		if err != nil {
			return nil, err
		}
		sep, err := r.str(a[0], "Fn::Split's delimiter")
		if err != nil {
			return nil, err
		}
		s, err := r.str(a[1], "Fn::Split's source")
		if err != nil {
			return nil, err
		}
		var out []any
		for _, p := range strings.Split(s, sep) {
			out = append(out, p)
		}
		return out, nil
	case "Fn::If":
		a, err := r.args(arg, name, 3)
		if err != nil {
			return nil, err
		}
		cond, err := r.str(a[0], "Fn::If's condition name")
		if err != nil {
			return nil, err
		}
		ok, err := r.condition(a[0], cond)
		if err != nil {
			return nil, err
		}
		if ok {
			return r.eval(a[1])
		}
		return r.eval(a[2])
	case "Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or", "Condition":
		return r.cond(n)
	case "Fn::FindInMap":
		if arg.Kind != yaml.SequenceNode || len(arg.Content) < 3 {
			return nil, r.t.errorf(arg, "Fn::FindInMap takes a list of 3 arguments")
		}
		var keys [3]string
		for i := range keys {
			s, err := r.str(arg.Content[i], "Fn::FindInMap's arguments")
			if err != nil {
				return nil, err
			}
			keys[i] = s
		}
		m := r.t.mappings[keys[0]]
		if m == nil {
			return nil, r.t.errorf(arg, "Fn::FindInMap: no mapping named %s", keys[0])
		}
		top := mapGet(m, keys[1])
		if top == nil {
			return nil, r.t.errorf(arg, "Fn::FindInMap: mapping %s has no key %s", keys[0], keys[1])
		}
		v := mapGet(top, keys[2])
		if v == nil {
			return nil, r.t.errorf(arg, "Fn::FindInMap: mapping %s.%s has no key %s", keys[0], keys[1], keys[2])
		}
		return r.eval(v)
	case "Fn::Base64":
		s, err := r.str(arg, "Fn::Base64's argument")
		if err != nil {
			return nil, err
		}
		return base64.StdEncoding.EncodeToString([]byte(s)), nil
	case "Fn::GetAZs":
		region := r.t.Pseudo["AWS::Region"]
		return []any{region + "a", region + "b", region + "c"}, nil
	}
	return nil, r.t.errorf(n, "%s is not supported by the local stack", name)
}

func (r *resolver) getAttArgs(arg *yaml.Node) (res, attr string, err error) {
	if arg.Kind == yaml.ScalarNode {
		res, attr, ok := strings.Cut(arg.Value, ".")
		if !ok {
			return "", "", r.t.errorf(arg, "Fn::GetAtt %q must be LogicalID.Attribute", arg.Value)
		}
		return res, attr, nil
	}
	a, err := r.args(arg, "Fn::GetAtt", 2)
	if err != nil {
		return "", "", err
	}
	if res, err = r.str(a[0], "Fn::GetAtt's resource"); err != nil {
		return "", "", err
	}
	if attr, err = r.str(a[1], "Fn::GetAtt's attribute"); err != nil {
		return "", "", err
	}
	return res, attr, nil
}

func (r *resolver) ref(n *yaml.Node, target string) (any, error) {
	if target == "AWS::NoValue" {
		return noValue{}, nil
	}
	if v, ok := r.t.Pseudo[target]; ok {
		return v, nil
	}
	if _, declared := r.t.parameterTypes[target]; declared {
		v, ok := r.t.Parameters[target]
		if !ok {
			return nil, r.t.errorf(n, "!Ref %s: parameter %s has no Default and no value was given", target, target)
		}
		if strings.HasPrefix(r.t.parameterTypes[target], "List<") || r.t.parameterTypes[target] == "CommaDelimitedList" {
			var out []any
			for _, p := range strings.Split(v, ",") {
				out = append(out, strings.TrimSpace(p))
			}
			return out, nil
		}
		return v, nil
	}
	if _, ok := r.t.resources[target]; ok {
		if v, ok := r.physical[target]; ok {
			return v, nil
		}
		return nil, r.t.errorf(n, "!Ref %s: no local value for resource %s", target, target)
	}
	return nil, r.t.errorf(n, "!Ref %s: no parameter or resource named %s", target, target)
}

func (r *resolver) getAtt(n *yaml.Node, res, attr string) (any, error) {
	rs, ok := r.t.resources[res]
	if !ok {
		return nil, r.t.errorf(n, "!GetAtt %s.%s: no resource named %s", res, attr, res)
	}
	if v, ok := r.physical[res+"."+attr]; ok {
		return v, nil
	}
	name, ok := r.physical[res]
	if !ok {
		return nil, r.t.errorf(n, "!GetAtt %s.%s: no local value for resource %s", res, attr, res)
	}
	p := r.t.Pseudo
	region, account, partition := p["AWS::Region"], p["AWS::AccountId"], p["AWS::Partition"]
	switch rs.Type + "." + attr {
	case "AWS::S3::Bucket.Arn":
		return "arn:" + partition + ":s3:::" + name, nil
	case "AWS::S3::Bucket.DomainName":
		return name + ".s3.amazonaws.com", nil
	case "AWS::S3::Bucket.RegionalDomainName":
		return name + ".s3." + region + ".amazonaws.com", nil
	case "AWS::DynamoDB::Table.Arn":
		return "arn:" + partition + ":dynamodb:" + region + ":" + account + ":table/" + name, nil
	case "AWS::DynamoDB::Table.StreamArn":
		return "arn:" + partition + ":dynamodb:" + region + ":" + account + ":table/" + name + "/stream/local", nil
	case "AWS::Serverless::Function.Arn", "AWS::Lambda::Function.Arn":
		return "arn:" + partition + ":lambda:" + region + ":" + account + ":function:" + name, nil
	case "AWS::Cognito::UserPool.Arn":
		return "arn:" + partition + ":cognito-idp:" + region + ":" + account + ":userpool/" + name, nil
	case "AWS::Cognito::UserPool.ProviderName":
		return "cognito-idp." + region + ".amazonaws.com/" + name, nil
	case "AWS::Cognito::UserPool.ProviderURL":
		return "https://cognito-idp." + region + ".amazonaws.com/" + name, nil
	case "AWS::SQS::Queue.Arn":
		return "arn:" + partition + ":sqs:" + region + ":" + account + ":" + name, nil
	case "AWS::SQS::Queue.QueueName", "AWS::SNS::Topic.TopicName":
		return name, nil
	case "AWS::SNS::Topic.TopicArn":
		return "arn:" + partition + ":sns:" + region + ":" + account + ":" + name, nil
	}
	return nil, r.t.errorf(n, "!GetAtt %s.%s: no local value for attribute %s of a %s", res, attr, attr, rs.Type)
}

func (r *resolver) sub(arg *yaml.Node) (any, error) {
	format := arg
	vars := map[string]any{}
	if arg.Kind == yaml.SequenceNode {
		a, err := r.args(arg, "Fn::Sub", 2)
		if err != nil {
			return nil, err
		}
		format = a[0]
		if a[1].Kind != yaml.MappingNode {
			return nil, r.t.errorf(a[1], "Fn::Sub's variables must be a mapping")
		}
		for i := 0; i+1 < len(a[1].Content); i += 2 {
			v, err := r.eval(a[1].Content[i+1])
			if err != nil {
				return nil, err
			}
			vars[a[1].Content[i].Value] = v
		}
	}
	if format.Kind != yaml.ScalarNode {
		return nil, r.t.errorf(format, "Fn::Sub's template must be a string")
	}
	var b strings.Builder
	err := subVariables(format.Value, func(lit string) { b.WriteString(lit) }, func(name string) error {
		var v any
		var err error
		if x, ok := vars[name]; ok {
			v = x
		} else if res, attr, ok := strings.Cut(name, "."); ok {
			if _, isParam := r.t.parameterTypes[name]; isParam {
				v, err = r.ref(format, name)
			} else {
				v, err = r.getAtt(format, res, attr)
			}
		} else {
			v, err = r.ref(format, name)
		}
		if err != nil {
			return err
		}
		s, ok := v.(string)
		if !ok {
			return r.t.errorf(format, "Fn::Sub variable ${%s} is a %s, not a string", name, kindName(v))
		}
		b.WriteString(s)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return b.String(), nil
}

// subVariables walks an Fn::Sub template, calling lit for literal text and
// variable for each ${Name}; ${!Literal} stands for the text ${Literal}.
func subVariables(s string, lit func(string), variable func(string) error) error {
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			lit(s)
			return nil
		}
		lit(s[:i])
		end := strings.Index(s[i:], "}")
		if end < 0 {
			lit(s[i:])
			return nil
		}
		name := s[i+2 : i+end]
		if strings.HasPrefix(name, "!") {
			lit("${" + name[1:] + "}")
		} else if err := variable(strings.TrimSpace(name)); err != nil {
			return err
		}
		s = s[i+end+1:]
	}
}

// condition evaluates the named entry of the template's Conditions.
func (r *resolver) condition(at *yaml.Node, name string) (bool, error) {
	c, ok := r.t.conditions[name]
	if !ok {
		return false, r.t.errorf(at, "no condition named %s", name)
	}
	return r.cond(c)
}

func (r *resolver) cond(n *yaml.Node) (bool, error) {
	r.depth++
	defer func() { r.depth-- }()
	if r.depth > 100 {
		return false, r.t.errorf(n, "conditions nested too deeply")
	}
	name, arg, ok := intrinsic(n, true)
	if !ok {
		return false, r.t.errorf(n, "a condition must be Fn::Equals, Fn::Not, Fn::And, Fn::Or or Condition")
	}
	switch name {
	case "Condition":
		s, err := r.str(arg, "Condition's argument")
		if err != nil {
			return false, err
		}
		return r.condition(arg, s)
	case "Fn::Equals":
		a, err := r.args(arg, name, 2)
		if err != nil {
			return false, err
		}
		x, err := r.eval(a[0])
		if err != nil {
			return false, err
		}
		y, err := r.eval(a[1])
		if err != nil {
			return false, err
		}
		return fmt.Sprint(x) == fmt.Sprint(y), nil
	case "Fn::Not":
		a, err := r.args(arg, name, 1)
		if err != nil {
			return false, err
		}
		v, err := r.cond(a[0])
		return !v, err
	case "Fn::And", "Fn::Or":
		if arg.Kind != yaml.SequenceNode || len(arg.Content) < 2 {
			return false, r.t.errorf(arg, "%s takes a list of 2 to 10 conditions", name)
		}
		for _, c := range arg.Content {
			v, err := r.cond(c)
			if err != nil {
				return false, err
			}
			if name == "Fn::And" && !v {
				return false, nil
			}
			if name == "Fn::Or" && v {
				return true, nil
			}
		}
		return name == "Fn::And", nil
	}
	return false, r.t.errorf(n, "%s is not a condition function", name)
}

func mapGet(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// check walks n and reports every Ref, GetAtt, Sub variable, Condition and
// FindInMap naming something the template does not define.
func (t *Template) check(n *yaml.Node, inCondition bool, errs *[]error) {
	if n == nil {
		return
	}
	if name, arg, ok := intrinsic(n, inCondition); ok {
		switch name {
		case "Ref":
			if arg.Kind == yaml.ScalarNode && !t.defined(arg.Value) {
				*errs = append(*errs, t.errorf(n, "!Ref %s: no parameter or resource named %s", arg.Value, arg.Value))
			}
			if arg.Kind == yaml.ScalarNode {
				return
			}
		case "Fn::GetAtt":
			res := ""
			if arg.Kind == yaml.ScalarNode {
				res, _, _ = strings.Cut(arg.Value, ".")
			} else if arg.Kind == yaml.SequenceNode && len(arg.Content) > 0 && arg.Content[0].Kind == yaml.ScalarNode {
				res = arg.Content[0].Value
			}
			if res != "" {
				if _, ok := t.resources[res]; !ok {
					*errs = append(*errs, t.errorf(n, "!GetAtt %s: no resource named %s", res, res))
				}
			}
		case "Fn::Sub":
			format, local := arg, map[string]bool{}
			if arg.Kind == yaml.SequenceNode && len(arg.Content) == 2 {
				format = arg.Content[0]
				for i := 0; i+1 < len(arg.Content[1].Content); i += 2 {
					local[arg.Content[1].Content[i].Value] = true
				}
			}
			if format.Kind == yaml.ScalarNode {
				_ = subVariables(format.Value, func(string) {}, func(v string) error {
					res, _, isAtt := strings.Cut(v, ".")
					switch {
					case local[v]:
					case isAtt:
						if _, ok := t.resources[res]; !ok && !t.defined(v) {
							*errs = append(*errs, t.errorf(n, "!Sub ${%s}: no resource named %s", v, res))
						}
					case !t.defined(v):
						*errs = append(*errs, t.errorf(n, "!Sub ${%s}: no parameter or resource named %s", v, v))
					}
					return nil
				})
			}
		case "Fn::If":
			if arg.Kind == yaml.SequenceNode && len(arg.Content) > 0 && arg.Content[0].Kind == yaml.ScalarNode {
				if _, ok := t.conditions[arg.Content[0].Value]; !ok {
					*errs = append(*errs, t.errorf(n, "!If %s: no condition named %s", arg.Content[0].Value, arg.Content[0].Value))
				}
			}
		case "Condition":
			if arg.Kind == yaml.ScalarNode {
				if _, ok := t.conditions[arg.Value]; !ok {
					*errs = append(*errs, t.errorf(n, "!Condition %s: no condition named %s", arg.Value, arg.Value))
				}
				return
			}
		case "Fn::FindInMap":
			if arg.Kind == yaml.SequenceNode && len(arg.Content) > 0 && arg.Content[0].Kind == yaml.ScalarNode && !isCustomTag(arg.Content[0].Tag) {
				if _, ok := t.mappings[arg.Content[0].Value]; !ok {
					*errs = append(*errs, t.errorf(n, "!FindInMap %s: no mapping named %s", arg.Content[0].Value, arg.Content[0].Value))
				}
			}
		}
		inCondition = inCondition || strings.HasPrefix(name, "Fn::Equals") || name == "Fn::Not" || name == "Fn::And" || name == "Fn::Or"
		t.check(arg, inCondition, errs)
		return
	}
	for _, c := range n.Content {
		t.check(c, inCondition, errs)
	}
}

func (t *Template) defined(name string) bool {
	if name == "AWS::NoValue" {
		return true
	}
	if _, ok := t.Pseudo[name]; ok {
		return true
	}
	if _, ok := t.parameterTypes[name]; ok {
		return true
	}
	_, ok := t.resources[name]
	return ok
}
