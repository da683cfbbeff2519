package templatecheck

import (
	"strings"
	"testing"

	"sectorhub/infra/samtemplate"
)

// sampleTopic returns the logical ID of the template's topic an SNS sample comes from ("" if
// none): the topic whose TopicName is the sample's topic's name or, for a topic CloudFormation
// names (<stack>-<LogicalID>-<suffix>), whose logical ID its name holds.
func sampleTopic(tmpl *samtemplate.Template, names map[string]string, s sample) string {
	if len(s.SNS.Records) == 0 {
		return ""
	}
	arn := s.SNS.Records[0].SNS.TopicArn
	name := arn[strings.LastIndex(arn, ":")+1:]
	for _, r := range tmpl.Resources("AWS::SNS::Topic") {
		if hasProperty(tmpl, names, r, "TopicName") {
			if name == names[r.LogicalID+".TopicName"] {
				return r.LogicalID
			}
			continue
		}
		if strings.Contains(name, "-"+r.LogicalID+"-") {
			return r.LogicalID
		}
	}
	return ""
}

// hasProperty reports whether resource r has the property name.
func hasProperty(tmpl *samtemplate.Template, names map[string]string, r samtemplate.Resource, name string) bool {
	v, err := tmpl.ResolveValue(r.Properties, names)
	m, _ := v.(map[string]any)
	_, ok := m[name]
	return err == nil && ok
}

// TestEverySNSEventHasASample: every SNS event of the template has a sample in events/ from its
// topic, which its function handles without a function error (run against the embedded
// backends, as the routes' samples are); every SNS sample comes from a topic a function of the
// template subscribes to.
func TestEverySNSEventHasASample(t *testing.T) {
	tmpl := loadTemplate(t)
	names := localNames(t, tmpl)
	topics := map[string]string{} // ARN -> logical ID
	for _, r := range tmpl.Resources("AWS::SNS::Topic") {
		topics[names[r.LogicalID]] = r.LogicalID
	}
	all := samples(t)
	be := newBackend(t)
	subscribed := map[string]bool{} // topics' logical IDs
	for _, tr := range tmpl.Triggers {
		if tr.Type != "SNS" {
			continue
		}
		t.Run(tr.FunctionID+"/"+tr.EventID, func(t *testing.T) {
			arn, err := tmpl.Resolve(tr.Topic, names)
			if err != nil {
				t.Fatal(err)
			}
			topic, ok := topics[arn]
			if !ok {
				t.Fatalf("%s event %s: Topic %s is not a topic of the template", tr.FunctionID, tr.EventID, arn)
			}
			subscribed[topic] = true
			fn, _ := tmpl.Function(tr.FunctionID)
			found := 0
			for _, s := range all {
				if s.SNS == nil || sampleTopic(tmpl, names, s) != topic {
					continue
				}
				found++
				o := invoke(t, fn, merge(be.templateEnv(t, fn), be.endpoints), s.Payload)
				if o.fnErr != nil {
					t.Errorf("events/%s: function error %v\n%s", s.File, o.fnErr, indent(o.log))
				}
			}
			if found == 0 {
				t.Errorf("%s event %s (topic %s) has no sample in events/", tr.FunctionID, tr.EventID, topic)
			}
		})
	}
	for _, s := range all {
		if s.SNS != nil && !subscribed[sampleTopic(tmpl, names, s)] {
			t.Errorf("events/%s comes from no topic a function of template.yaml subscribes to", s.File)
		}
	}
}
