package streamtest

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestTemplateRender(t *testing.T) {
	root := []any{
		map[string]any{"topic": "1/DataPoint/a", "operation": "INSERTION", "DataPoint": map[string]any{"data": json.Number("1.5"), "id": "x"}},
		map[string]any{"topic": "1/DataPoint/b", "operation": "UPDATE", "DataPoint": map[string]any{"data": json.Number("0"), "id": `<"q">`}},
	}
	cases := []struct{ tmpl, want string }{
		{`[{{#each this}}{"t":"{{topic}}","v":{{DataPoint.data}}}{{#unless @last}},{{/unless}}{{/each}}]`,
			`[{"t":"1/DataPoint/a","v":1.5},{"t":"1/DataPoint/b","v":0}]`},
		{`{{#each this}}{{@index}}{{#if @first}}F{{else}}-{{/if}}{{#if DataPoint.data}}T{{else}}Z{{/if}}{{/each}}`, `0FT1-Z`},
		{`{{#each this}}{{DataPoint.id}}|{{{DataPoint.id}}}|{{json DataPoint.id}};{{/each}}`,
			`x|x|"x";&lt;&quot;q&quot;&gt;|<"q">|"\u003c\"q\"\u003e";`},
		{`{{#each this}}{{#with DataPoint}}{{id}}@{{../topic}}{{/with}} {{/each}}`, `x@1/DataPoint/a &lt;&quot;q&quot;&gt;@1/DataPoint/b `},
		{`{{! a comment }}{{#each nothing}}x{{else}}empty{{/each}}`, `empty`},
		{`{{#each this}}{{#each DataPoint}}{{@key}}={{this}} {{/each}}{{/each}}`, `data=1.5 id=x data=0 id=&lt;&quot;q&quot;&gt; `},
		{`{{json this.0}}{{missing.deep}}`, `null`},
	}
	for _, c := range cases {
		tp, err := parseTemplate(c.tmpl)
		if err != nil {
			t.Fatalf("%s: %v", c.tmpl, err)
		}
		got, err := tp.render(nil, root)
		if err != nil {
			t.Fatalf("%s: %v", c.tmpl, err)
		}
		if string(got) != c.want {
			t.Errorf("%s\n got %s\nwant %s", c.tmpl, got, c.want)
		}
	}
}

func TestTemplateParseErrors(t *testing.T) {
	for _, bad := range []string{"{{#each this}}", "{{/each}}", "{{#if x}}{{/each}}", "{{#loop x}}{{/loop}}", "{{else}}",
		"{{unclosed", "{{{x}}", "{{@nope}}", "{{}}", "{{#if x}}a{{else}}b", "{{a..b}}"} {
		if _, err := parseTemplate(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// TestTemplatedPushDocument checks that a templated tcp monitor sends the
// template's output as the block document.
func TestTemplatedPushDocument(t *testing.T) {
	s := NewServer(offline())
	defer s.Close()
	id := s.CreateMonitor(MonitorSpec{Topics: []string{"DataPoint"}, BatchSize: 2, BatchDuration: time.Hour,
		SchemaType: "handlebars", SchemaData: `{"values":[{{#each this}}{{DataPoint.data}}{{#unless @last}},{{/unless}}{{/each}}]}`})
	rc := pipeClient(t, s)
	defer rc.Close()
	rc.mustConnect(id)
	s.Publish(dp("d1", "t", 1.5), dp("d2", "t", 2))
	b, err := rc.readBlock() // err: the document is not an envelope
	if got := strings.TrimSpace(string(b.Doc)); got != `{"values":[1.5,2]}` || b.Count != 2 {
		t.Errorf("document %s (count %d, %v)", got, b.Count, err)
	}
}
