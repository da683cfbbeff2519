package samtemplate

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Value is an unresolved template value: a literal or an intrinsic function
// call (!Ref, !Sub, !GetAtt), remembered with the line it came from so that
// errors can point at it. Resolve evaluates it.
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

// defaultPseudo returns the values the local stack gives AWS pseudo parameters.
func defaultPseudo() map[string]string {
	return map[string]string{
		"AWS::Region":    "eu-west-2",
		"AWS::AccountId": "000000000000",
		"AWS::Partition": "aws",
		"AWS::StackName": "sectorhub-local",
		"AWS::StackId":   "arn:aws:cloudformation:eu-west-2:000000000000:stack/sectorhub-local/00000000-0000-0000-0000-000000000000",
		"AWS::URLSuffix": "amazonaws.com",
	}
}

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
	s, ok := out.(string)
	if !ok {
		return "", t.errorf(v.node, "%s is a %s, not a string", v, kindName(out))
	}
	return s, nil
}

// ResolveList evaluates v to a list of strings: a YAML sequence, a Ref to a
// CommaDelimitedList or List<...> parameter, or a single string.
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

// ResolveValue evaluates v to plain data, as Resolve does a string: a string, a []any, a
// map[string]any or nil, nested. Checks of the template read policies with it.
func (t *Template) ResolveValue(v Value, physical map[string]string) (any, error) {
	if v.node == nil {
		return nil, nil
	}
	r := resolver{t: t, physical: physical}
	return r.eval(v.node)
}

// ResolveEnv resolves fn's Environment variables (Globals merged in).
func (t *Template) ResolveEnv(fn Function, physical map[string]string) (map[string]string, error) {
	env := make(map[string]string, len(fn.Environment))
	for _, name := range slices.Sorted(maps.Keys(fn.Environment)) {
		v := fn.Environment[name]
		s, err := t.Resolve(v, physical)
		if err != nil {
			return nil, fmt.Errorf("%s environment %s: %w", fn.LogicalID, name, err)
		}
		env[name] = s
	}
	return env, nil
}

func kindName(v any) string {
	switch v.(type) {
	case []any:
		return "list"
	case map[string]any:
		return "mapping"
	case nil:
		return "null"
	default:
		return "value"
	}
}

func isCustomTag(tag string) bool {
	return strings.HasPrefix(tag, "!") && !strings.HasPrefix(tag, "!!")
}

// intrinsic reports whether n is an intrinsic function call, in short form
// (!Sub x) or long form ({"Fn::Sub": x}), and returns its long name ("Ref",
// "Fn::Sub") and argument node. It recognises every intrinsic, supported or not.
func intrinsic(n *yaml.Node) (name string, arg *yaml.Node, ok bool) {
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
		if short == "Ref" || short == "Condition" {
			return short, &arg, true
		}
		return "Fn::" + short, &arg, true
	}
	if n.Kind == yaml.MappingNode && len(n.Content) == 2 {
		key := n.Content[0].Value
		if key == "Ref" || strings.HasPrefix(key, "Fn::") {
			return key, n.Content[1], true
		}
	}
	return "", nil, false
}

// unsupported is the error for an intrinsic function outside the supported set.
func (t *Template) unsupported(n *yaml.Node, name string) error {
	return t.errorf(n, "%s is not supported by the local stack (only Ref, Fn::Sub and Fn::GetAtt are)", name)
}

type resolver struct {
	t        *Template
	physical map[string]string
}

// eval evaluates n to a string, a []any, a map[string]any or nil (YAML null).
func (r *resolver) eval(n *yaml.Node) (any, error) {
	if name, arg, ok := intrinsic(n); ok {
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
			m[n.Content[i].Value] = v
		}
		return m, nil
	}
	return nil, r.t.errorf(n, "unexpected YAML node")
}

func (r *resolver) call(n *yaml.Node, name string, arg *yaml.Node) (any, error) {
	switch name {
	case "Ref":
		if arg.Kind != yaml.ScalarNode {
			return nil, r.t.errorf(n, "Ref takes the name of a parameter or resource")
		}
		return r.ref(n, arg.Value)
	case "Fn::GetAtt":
		res, attr, err := r.t.getAttArgs(n, arg)
		if err != nil {
			return nil, err
		}
		return r.getAtt(n, res, attr)
	case "Fn::Sub":
		return r.sub(n, arg)
	}
	return nil, r.t.unsupported(n, name)
}

// getAttArgs splits Fn::GetAtt's argument, "Resource.Attribute" or [Resource, Attribute].
func (t *Template) getAttArgs(n, arg *yaml.Node) (res, attr string, err error) {
	if arg.Kind == yaml.ScalarNode {
		if res, attr, ok := strings.Cut(arg.Value, "."); ok {
			return res, attr, nil
		}
	}
	if arg.Kind == yaml.SequenceNode && len(arg.Content) == 2 && isLiteral(arg.Content[0]) && isLiteral(arg.Content[1]) {
		return arg.Content[0].Value, arg.Content[1].Value, nil
	}
	return "", "", t.errorf(n, "Fn::GetAtt takes Resource.Attribute or [Resource, Attribute]")
}

func isLiteral(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && !isCustomTag(n.Tag) }

func (r *resolver) ref(n *yaml.Node, target string) (any, error) {
	if v, ok := r.t.Pseudo[target]; ok {
		return v, nil
	}
	if typ, declared := r.t.parameterTypes[target]; declared {
		v, ok := r.t.Parameters[target]
		if !ok {
			return nil, r.t.errorf(n, "!Ref %s: parameter %s has no Default and no value was given", target, target)
		}
		if strings.HasPrefix(typ, "List<") || typ == "CommaDelimitedList" {
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

// subArgs splits Fn::Sub's argument, a string or [string, {Name: value, ...}].
func (t *Template) subArgs(n, arg *yaml.Node) (format *yaml.Node, vars []*yaml.Node, err error) {
	if isLiteral(arg) {
		return arg, nil, nil
	}
	if arg.Kind == yaml.SequenceNode && len(arg.Content) == 2 && isLiteral(arg.Content[0]) &&
		arg.Content[1].Kind == yaml.MappingNode && !isCustomTag(arg.Content[1].Tag) {
		return arg.Content[0], arg.Content[1].Content, nil
	}
	return nil, nil, t.errorf(n, "Fn::Sub takes a string or [string, {Name: value, ...}]")
}

func (r *resolver) sub(n, arg *yaml.Node) (any, error) {
	format, varNodes, err := r.t.subArgs(n, arg)
	if err != nil {
		return nil, err
	}
	vars := map[string]any{}
	for i := 0; i+1 < len(varNodes); i += 2 {
		v, err := r.eval(varNodes[i+1])
		if err != nil {
			return nil, err
		}
		vars[varNodes[i].Value] = v
	}
	var b strings.Builder
	err = subVariables(format.Value, func(lit string) { b.WriteString(lit) }, func(name string) error {
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

// check walks n and reports every intrinsic function that is not supported or
// is malformed, and every Ref, GetAtt and Sub variable naming something the
// template does not define.
func (t *Template) check(n *yaml.Node, errs *[]error) {
	if n == nil {
		return
	}
	name, arg, ok := intrinsic(n)
	if !ok {
		for _, c := range n.Content {
			t.check(c, errs)
		}
		return
	}
	switch name {
	case "Ref":
		switch {
		case arg.Kind != yaml.ScalarNode:
			*errs = append(*errs, t.errorf(n, "Ref takes the name of a parameter or resource"))
		case arg.Value == "AWS::NoValue":
			*errs = append(*errs, t.errorf(n, "Ref AWS::NoValue is not supported by the local stack (it only makes sense with Fn::If, which is not supported either)"))
		case !t.defined(arg.Value):
			*errs = append(*errs, t.errorf(n, "!Ref %s: no parameter or resource named %s", arg.Value, arg.Value))
		}
	case "Fn::GetAtt":
		res, _, err := t.getAttArgs(n, arg)
		if err != nil {
			*errs = append(*errs, err)
		} else if _, ok := t.resources[res]; !ok {
			*errs = append(*errs, t.errorf(n, "!GetAtt %s: no resource named %s", res, res))
		}
	case "Fn::Sub":
		format, vars, err := t.subArgs(n, arg)
		if err != nil {
			*errs = append(*errs, err)
			return
		}
		local := map[string]bool{}
		for i := 0; i+1 < len(vars); i += 2 {
			local[vars[i].Value] = true
			t.check(vars[i+1], errs)
		}
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
	default:
		*errs = append(*errs, t.unsupported(n, name))
	}
}

func (t *Template) defined(name string) bool {
	if _, ok := t.Pseudo[name]; ok {
		return true
	}
	if _, ok := t.parameterTypes[name]; ok {
		return true
	}
	_, ok := t.resources[name]
	return ok
}
