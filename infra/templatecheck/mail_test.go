package templatecheck

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"sectorhub/infra/samtemplate"
)

// asList returns v as a list: a policy element is a list or a single value.
func asList(v any) []any {
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		return x
	default:
		return []any{x}
	}
}

// asStrings returns the strings of v (asList).
func asStrings(v any) []string {
	var out []string
	for _, e := range asList(v) {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// allows reports whether an Allow statement's actions cover action: named, case aside, or
// matched by a wildcard ("ses:Send*", "ses:*", "*").
func allows(st map[string]any, action string) bool {
	if st["Effect"] != "Allow" {
		return false
	}
	return slices.ContainsFunc(asStrings(st["Action"]), func(a string) bool {
		if prefix, ok := strings.CutSuffix(a, "*"); ok {
			return strings.HasPrefix(strings.ToLower(action), strings.ToLower(prefix))
		}
		return strings.EqualFold(a, action)
	})
}

// statements returns the statements of a function's resolved Policies.
func statements(policies any) []map[string]any {
	var out []map[string]any
	for _, p := range asList(policies) {
		doc, _ := p.(map[string]any)
		for _, st := range asList(doc["Statement"]) {
			if m, ok := st.(map[string]any); ok {
				out = append(out, m)
			}
		}
	}
	return out
}

// condition returns the value a statement's Condition gives key under operator, names compared
// as IAM compares them (case aside).
func condition(st map[string]any, operator, key string) []string {
	conds, _ := st["Condition"].(map[string]any)
	for op, v := range conds {
		if !strings.EqualFold(op, operator) {
			continue
		}
		keys, _ := v.(map[string]any)
		for k, val := range keys {
			if strings.EqualFold(k, key) {
				return asStrings(val)
			}
		}
	}
	return nil
}

// localNames returns the template's resources' local names.
func localNames(t *testing.T, tmpl *samtemplate.Template) map[string]string {
	t.Helper()
	names, err := tmpl.LocalNames(func(id string) string { return "local-" + id })
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// TestMailSendersNameTheConfigurationSet: every function allowed to send mail sends it with the
// template's SES configuration set (MAIL_CONFIGURATION_SET), so that its bounces and complaints
// are reported; its send statements name exactly the identities and that set (SES authorises
// a send on both) and only SenderAddress may be the sender. A function without the right sets
// no MAIL_CONFIGURATION_SET.
func TestMailSendersNameTheConfigurationSet(t *testing.T) {
	tmpl := loadTemplate(t)
	names := localNames(t, tmpl)
	sets := map[string]bool{}
	for _, r := range tmpl.Resources("AWS::SES::ConfigurationSet") {
		sets[names[r.LogicalID]] = true
	}
	if len(sets) == 0 {
		t.Fatal("template.yaml has no AWS::SES::ConfigurationSet")
	}
	p := tmpl.Pseudo
	sender := tmpl.Parameters["SenderAddress"]
	senders := 0
	for _, fn := range tmpl.Functions {
		t.Run(fn.LogicalID, func(t *testing.T) {
			policies, err := tmpl.ResolveValue(fn.Policies, names)
			if err != nil {
				t.Fatal(err)
			}
			var sends []map[string]any
			for _, st := range statements(policies) {
				if allows(st, "ses:SendRawEmail") || allows(st, "ses:SendEmail") {
					sends = append(sends, st)
				}
			}
			v, named := fn.Environment["MAIL_CONFIGURATION_SET"]
			if len(sends) == 0 {
				if named {
					t.Errorf("%s sets MAIL_CONFIGURATION_SET but may not send mail", fn.LogicalID)
				}
				return
			}
			senders++
			if !named {
				t.Fatalf("%s may send mail but sets no MAIL_CONFIGURATION_SET: its bounces and complaints would go unreported", fn.LogicalID)
			}
			set, err := tmpl.Resolve(v, names)
			if err != nil || !sets[set] {
				t.Fatalf("%s's MAIL_CONFIGURATION_SET = %q, %v; want the name of a configuration set of the template (!Ref MailConfigurationSet)", fn.LogicalID, set, err)
			}
			setARN := fmt.Sprintf("arn:%s:ses:%s:%s:configuration-set/%s", p["AWS::Partition"], p["AWS::Region"], p["AWS::AccountId"], set)
			identities := fmt.Sprintf("arn:%s:ses:%s:%s:identity/", p["AWS::Partition"], p["AWS::Region"], p["AWS::AccountId"])
			for _, st := range sends {
				res := asStrings(st["Resource"])
				hasIdentity := slices.ContainsFunc(res, func(r string) bool { return strings.HasPrefix(r, identities) })
				others := slices.DeleteFunc(slices.Clone(res), func(r string) bool { return r == setARN || strings.HasPrefix(r, identities) })
				if !hasIdentity || !slices.Contains(res, setARN) || len(others) > 0 {
					t.Errorf("statement %v sends on %q; want the identities (%s*) and the configuration set %s, nothing else", st["Sid"], res, identities, setARN)
				}
				if from := condition(st, "StringEquals", "ses:FromAddress"); !slices.Equal(from, []string{sender}) {
					t.Errorf("statement %v lets %s send from %q; want only SenderAddress (%s): a StringEquals condition on ses:FromAddress", st["Sid"], fn.LogicalID, from, sender)
				}
			}
		})
	}
	if senders == 0 {
		t.Error("no function of template.yaml may send mail")
	}
}

// TestConfigurationSetsReportFeedback: each configuration set publishes its bounces and
// complaints through an enabled event destination to an SNS topic of the template whose policy
// lets SES (of this account) publish, and a function subscribes to that topic.
func TestConfigurationSetsReportFeedback(t *testing.T) {
	tmpl := loadTemplate(t)
	names := localNames(t, tmpl)
	p := tmpl.Pseudo
	resolve := func(v samtemplate.Value) string {
		t.Helper()
		s, err := tmpl.Resolve(v, names)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	topics := map[string]string{} // ARN -> logical ID
	for _, r := range tmpl.Resources("AWS::SNS::Topic") {
		topics[names[r.LogicalID]] = r.LogicalID
	}
	for _, r := range tmpl.Resources("AWS::SES::ConfigurationSet") {
		set := names[r.LogicalID]
		t.Run(r.LogicalID, func(t *testing.T) {
			var feedback []string // topic ARNs
			for _, d := range tmpl.MailEventDestinations {
				if resolve(d.ConfigurationSet) != set || resolve(d.Enabled) != "true" || !d.Publishes("bounce") || !d.Publishes("complaint") || d.SNSTopic.IsZero() {
					continue
				}
				topic := resolve(d.SNSTopic)
				if _, ok := topics[topic]; !ok {
					t.Errorf("event destination %s publishes to %s, not a topic of the template", d.LogicalID, topic)
					continue
				}
				feedback = append(feedback, topic)
			}
			if len(feedback) == 0 {
				t.Fatalf("configuration set %s has no enabled event destination publishing bounces and complaints to an SNS topic of the template", set)
			}
			setARN := fmt.Sprintf("arn:%s:ses:%s:%s:configuration-set/%s", p["AWS::Partition"], p["AWS::Region"], p["AWS::AccountId"], set)
			for _, topic := range feedback {
				subscribed := slices.ContainsFunc(tmpl.Triggers, func(tr samtemplate.Trigger) bool { return tr.Type == "SNS" && resolve(tr.Topic) == topic })
				if !subscribed {
					t.Errorf("no function subscribes to %s (an SNS event), where %s's bounces and complaints go", topics[topic], set)
				}
				if !sesMayPublish(t, tmpl, names, topic, p["AWS::AccountId"], setARN) {
					t.Errorf("no AWS::SNS::TopicPolicy of %s lets ses.amazonaws.com publish (sns:Publish) on condition of aws:SourceAccount %s and, if given, aws:SourceArn %s", topics[topic], p["AWS::AccountId"], setARN)
				}
			}
		})
	}
}

// sesMayPublish reports whether a topic policy of the template allows SES to publish to topic,
// from account only (aws:SourceAccount) and, when it names one, from the configuration set
// setARN (aws:SourceArn).
func sesMayPublish(t *testing.T, tmpl *samtemplate.Template, names map[string]string, topic, account, setARN string) bool {
	t.Helper()
	for _, r := range tmpl.Resources("AWS::SNS::TopicPolicy") {
		v, err := tmpl.ResolveValue(r.Properties, names)
		if err != nil {
			t.Fatal(err)
		}
		props, _ := v.(map[string]any)
		if !slices.Contains(asStrings(props["Topics"]), topic) {
			continue
		}
		doc, _ := props["PolicyDocument"].(map[string]any)
		for _, x := range asList(doc["Statement"]) {
			st, _ := x.(map[string]any)
			principal, _ := st["Principal"].(map[string]any)
			if !allows(st, "sns:Publish") || !slices.Contains(asStrings(principal["Service"]), "ses.amazonaws.com") {
				continue
			}
			if !slices.Contains(asStrings(st["Resource"]), topic) && !slices.Contains(asStrings(st["Resource"]), "*") {
				continue
			}
			if !slices.Equal(condition(st, "StringEquals", "aws:SourceAccount"), []string{account}) {
				continue
			}
			arns := append(condition(st, "ArnLike", "aws:SourceArn"), condition(st, "ArnEquals", "aws:SourceArn")...)
			if len(arns) == 0 || slices.Equal(arns, []string{setARN}) {
				return true
			}
		}
	}
	return false
}
