"""Golden cases recorded from promtool 2.42 (``promtool test rules``), the reference for alert templates.

Each expansion was produced by Prometheus for an alert on ``m{job="node"}``
(labels ``__name__="m", instance="host1.dc1:9100", job="node"``, value 0.1234)
with a second series ``m{instance="host2.dc1:9100", job="api"} 1234567.5``;
queries use ``sort(m)`` because promtool returns a plain selector's series
in no fixed order. ``test_promtool_golden.py`` re-checks every case against the
installed promtool; the unit tests check our expander against them.
"""

from __future__ import annotations

EXPANSIONS: list[tuple[str, str]] = [
    (
        "{{ $value }}|{{ .Value }}|{{ $labels.instance }}|{{ .Labels.job }}|{{ $labels.nope }}|{{ $externalLabels.x }}",
        "0.1234|0.1234|host1.dc1:9100|node||",
    ),
    (
        '{{ humanize 1234567 }}|{{ humanize 0 }}|{{ humanize 0.000123 }}|{{ humanize -1500 }}|{{ humanize 1e30 }}|{{ humanize "12345" }}|{{ humanize $value }}',
        "1.235M|0|123u|-1.5k|1e+06Y|12.35k|123.4m",
    ),
    (
        "{{ humanize1024 1024 }}|{{ humanize1024 1 }}|{{ humanize1024 1e9 }}|{{ humanize1024 -2048 }}|{{ humanize1024 0.5 }}",
        "1ki|1|953.7Mi|-2ki|0.5",
    ),
    (
        "{{ humanizeDuration 3661 }}|{{ humanizeDuration 0 }}|{{ humanizeDuration 0.0015 }}|{{ humanizeDuration 90061 }}|{{ humanizeDuration -65 }}|{{ humanizeDuration 1.5 }}|{{ humanizeDuration 59.99 }}",
        "1h 1m 1s|0s|1.5ms|1d 1h 1m 1s|-1m 5s|1.5s|59.99s",
    ),
    (
        "{{ humanizePercentage 0.1234 }}|{{ humanizePercentage 1 }}|{{ humanizePercentage 0.000012345 }}",
        "12.34%|100%|0.001234%",
    ),
    (
        "{{ humanizeTimestamp 1.5 }}|{{ humanizeTimestamp 1700000000.123456 }}|{{ humanizeTimestamp 0 }}|{{ toTime 1700000000 }}",
        "1970-01-01 00:00:01.5 +0000 UTC|2023-11-14 22:13:20.123 +0000 UTC|1970-01-01 00:00:00 +0000 UTC|2023-11-14 22:13:20 +0000 UTC",
    ),
    (
        '{{ parseDuration "1h30m" }}|{{ parseDuration "1w" }}|{{ parseDuration "100ms" }}',
        "5400|604800|0.1",
    ),
    (
        '{{ stripPort "host1.dc1:9100" }}|{{ stripPort "[::1]:80" }}|{{ stripPort "nohost" }}|{{ stripPort "::1" }}',
        "host1.dc1|::1|nohost|::1",
    ),
    (
        '{{ title "hello world-foo_bar x.y" }}|{{ toUpper "aBc" }}|{{ toLower "AbC" }}',
        "Hello World-Foo_bar X.Y|ABC|abc",
    ),
    (
        '{{ match "^host1" $labels.instance }}|{{ match "a(" "x" }}',
        '<error expanding template: error executing template __alert_A: template: __alert_A:1:153: executing "__alert_A" at <match "a(" "x">: error calling match: error parsing regexp: missing closing ): `a(`>',
    ),
    (
        '{{ reReplaceAll "(.*):.*" "$1" $labels.instance }}|{{ reReplaceAll "x*" "-" "abxd" }}|{{ reReplaceAll "(a)" "$1x" "cat" }}|{{ reReplaceAll "(?P<h>[^.]+)\\\\..*" "${h}" "a.b.c" }}',
        "host1.dc1|-a-b-d-|ct|a",
    ),
    (
        '{{ reReplaceAll "(" "x" "y" }}',
        '<error expanding template: error executing template __alert_A: template: __alert_A:1:115: executing "__alert_A" at <reReplaceAll "(" "x" "y">: error calling reReplaceAll: regexp: Compile(`(`): error parsing regexp: missing closing ): `(`>',
    ),
    (
        '{{ safeHtml "<b>" }}|{{ graphLink "rate(x[5m])" }}|{{ tableLink "up == 0" }}',
        "<b>|/graph?g0.expr=rate%28x%5B5m%5D%29&g0.tab=0|/graph?g0.expr=up+%3D%3D+0&g0.tab=1",
    ),
    (
        '{{ with query "sort(m)" }}{{ range . }}{{ .Labels.instance }}={{ .Value }};{{ end }}{{ end }}',
        "host1.dc1:9100=0.1234;host2.dc1:9100=1.2345675e+06;",
    ),
    (
        '{{ query "sort(m)" | first | value }}|{{ query "sort(m)" | first | label "job" }}|{{ (query "sort(m)" | first).Value }}',
        "0.1234|node|0.1234",
    ),
    ('{{ range query "sort(m)" | sortByLabel "job" }}{{ label "job" . }} {{ end }}', "api node "),
    (
        '{{ query "nothing" | first | value }}',
        '<error expanding template: error executing template __alert_A: template: __alert_A:1:133: executing "__alert_A" at <first>: error calling first: first() called on vector with no elements>',
    ),
    (
        '{{ range $i, $s := query "sort(m)" }}{{ $i }}:{{ $s.Labels.job }} {{ end }}',
        "0:node 1:api ",
    ),
    (
        '{{ printf "%.2f" $value }}|{{ printf "%d" 42 }}|{{ printf "%s" $labels.job }}|{{ printf "%5.1f|%-6s|%06.2f" 3.14159 "ab" -1.5 }}|{{ printf "%x %X %o %b %c %q %U" 255 255 8 5 65 65 65 }}',
        "0.12|42|node|  3.1|ab    |-01.50|ff FF 10 101 A 'A' U+0041",
    ),
    (
        '{{ printf "%v %v %v %v %v" 1e21 1e20 123456.0 1234567.0 0.00001 }}|{{ printf "%g %e %G %E" 1e-7 1234.5678 1e-7 1234.5678 }}|{{ printf "%.3g %.10g %g" 1234.5678 1e5 100000.0 }}',
        "1e+21 1e+20 123456 1.234567e+06 1e-05|1e-07 1.234568e+03 1E-07 1.234568E+03|1.23e+03 100000 100000",
    ),
    (
        '{{ printf "%d %s" "x" 1.5 }}|{{ printf "%d" }}|{{ printf "x" 1 }}|{{ printf "%!" }}|{{ printf "%" }}|{{ printf "%t %v" true nil }}',
        "%!d(string=x) %!s(float64=1.5)|%!d(MISSING)|x%!(EXTRA int=1)|%!!(MISSING)|%!(NOVERB)|true <nil>",
    ),
    (
        '{{ printf "%v" $labels }}|{{ printf "%v" (args 1 "a") }}|{{ $labels }}',
        "map[__name__:m instance:host1.dc1:9100 job:node]|map[arg0:1 arg1:a]|map[__name__:m instance:host1.dc1:9100 job:node]",
    ),
    (
        '{{ if gt $value 0.1 }}big{{ else }}small{{ end }}|{{ if eq $labels.job "node" }}node{{ end }}|{{ if and $value (ne $labels.job "x") }}yes{{ end }}',
        "big|node|yes",
    ),
    (
        "{{ if gt $value 1 }}big{{ end }}",
        '<error expanding template: error executing template __alert_A: template: __alert_A:1:118: executing "__alert_A" at <gt $value 1>: error calling gt: incompatible types for comparison>',
    ),
    (
        '{{ len $labels }}|{{ index $labels "job" }}|{{ index $labels "nope" }}|{{ slice "abcdef" 1 4 }}|{{ print 1 2 "a" 3 }}|{{ println "a" 1 }}',
        "3|node||bcd|1 2a3|a 1\n",
    ),
    (
        '{{ html "<a href=\'x\'>&</a>" }}|{{ js "it\'s \\"x\\" <b> & =" }}|{{ urlquery "a b&c=d/é" }}',
        '&lt;a href=&#39;x&#39;&gt;&amp;&lt;/a&gt;|it\\\'s \\"x\\" \\u003Cb\\u003E \\u0026 \\u003D|a+b%26c%3Dd%2F%C3%A9',
    ),
    ('{{- /* comment */ -}} x {{- " y " -}} z', "x y z"),
    (
        "{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}|{{ range $k, $v := $labels }}{{ $k }}={{ $v }},{{ end }}",
        "2|__name__=m,instance=host1.dc1:9100,job=node,",
    ),
    (
        '{{ define "t" }}[{{ . }}]{{ end }}{{ template "t" $labels.job }}{{ block "b" 1 }}<{{ . }}>{{ end }}',
        "[node]<1>",
    ),
    (
        '{{ range $labels }}{{ if eq . "node" }}{{ break }}{{ end }}{{ . }} {{ end }}',
        "m host1.dc1:9100 ",
    ),
    (
        "{{ 'a' }}|{{ 0x1F }}|{{ 1e3 }}|{{ 017 }}|{{ -5 }}|{{ true }}|{{ \"s\\tq\" }}|{{ `raw\\n` }}",
        "97|31|1000|15|-5|true|s\tq|raw\\n",
    ),
    (
        "{{ .Nope }}",
        '<error expanding template: error executing template __alert_A: template: __alert_A:1:115: executing "__alert_A" at <.Nope>: can\'t evaluate field Nope in type struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; Value float64 }>',
    ),
    (
        "{{ nil }}",
        '<error expanding template: error executing template __alert_A: template: __alert_A:1:115: executing "__alert_A" at <nil>: nil is not a command>',
    ),
    (
        "{{ $value.x }}",
        '<error expanding template: error executing template __alert_A: template: __alert_A:1:121: executing "__alert_A" at <$value.x>: can\'t evaluate field x in type float64>',
    ),
    (
        "{{ index $labels 1 }}",
        '<error expanding template: error executing template __alert_A: template: __alert_A:1:115: executing "__alert_A" at <index $labels 1>: error calling index: value has type int; should be string>',
    ),
    (
        '{{ humanize "abc" }}',
        '<error expanding template: error executing template __alert_A: template: __alert_A:1:115: executing "__alert_A" at <humanize "abc">: error calling humanize: strconv.ParseFloat: parsing "abc": invalid syntax>',
    ),
    (
        "{{ humanize true }}",
        '<error expanding template: error executing template __alert_A: template: __alert_A:1:115: executing "__alert_A" at <humanize true>: error calling humanize: can\'t convert bool to float>',
    ),
    (
        "{{ toUpper 1 }}",
        '<error expanding template: error executing template __alert_A: template: __alert_A:1:123: executing "__alert_A" at <1>: expected string; found 1>',
    ),
    (
        "{{ toUpper $value }}",
        '<error expanding template: error executing template __alert_A: template: __alert_A:1:123: executing "__alert_A" at <$value>: wrong type for value; expected string; got float64>',
    ),
    (
        "{{ humanize 1 2 }}",
        '<error expanding template: error executing template __alert_A: template: __alert_A:1:115: executing "__alert_A" at <humanize>: wrong number of args for humanize: want 1 got 2>',
    ),
    (
        "{{ printf }}",
        '<error expanding template: error executing template __alert_A: template: __alert_A:1:115: executing "__alert_A" at <printf>: wrong number of args for printf: want at least 1 got 0>',
    ),
    ('{{ strvalue (query "sort(m)" | first) }}|{{ args 1 2 }}', "|map[arg0:1 arg1:2]"),
    (
        "{{ humanize 1 2 }}",
        '<error expanding template: error executing template __alert_A: template: __alert_A:1:115: executing "__alert_A" at <humanize>: wrong number of args for humanize: want 1 got 2>',
    ),
    (
        "{{ humanize }}",
        '<error expanding template: error executing template __alert_A: template: __alert_A:1:115: executing "__alert_A" at <humanize>: wrong number of args for humanize: want 1 got 0>',
    ),
    (
        '{{ label "job" }}',
        '<error expanding template: error executing template __alert_A: template: __alert_A:1:115: executing "__alert_A" at <label>: wrong number of args for label: want 2 got 1>',
    ),
    (
        "{{ first 1 }}",
        '<error expanding template: error executing template __alert_A: template: __alert_A:1:121: executing "__alert_A" at <1>: can\'t handle 1 for arg of type template.queryResult>',
    ),
    (
        '{{ value "x" }}',
        '<error expanding template: error executing template __alert_A: template: __alert_A:1:121: executing "__alert_A" at <"x">: can\'t handle "x" for arg of type *template.sample>',
    ),
    (
        '{{ label 1 (query "sort(m)" | first) }}',
        '<error expanding template: error executing template __alert_A: template: __alert_A:1:121: executing "__alert_A" at <1>: expected string; found 1>',
    ),
    (
        "{{ toUpper .Value }}",
        '<error expanding template: error executing template __alert_A: template: __alert_A:1:123: executing "__alert_A" at <.Value>: wrong type for value; expected string; got float64>',
    ),
    (
        "{{ printf 1 }}",
        '<error expanding template: error executing template __alert_A: template: __alert_A:1:122: executing "__alert_A" at <1>: expected string; found 1>',
    ),
    ('{{ 1 | printf "%d %d" 2 }}', "2 1"),
    ('{{ $labels.job | printf "%s-%s" "x" }}', "x-node"),
    ('{{ query "sort(m)" | len }}', "2"),
    ('{{ index (query "sort(m)") 1 | value }}', "1.2345675e+06"),
    ('{{ (index (query "sort(m)") 1).Labels.instance }}', "host2.dc1:9100"),
    ("{{ with $x := $labels.job }}{{ $x }}{{ end }}", "node"),
    ("{{ with $labels.nope }}has{{ else }}none{{ end }}", "none"),
    (
        "{{ range $labels.nope }}x{{ else }}empty{{ end }}",
        '<error expanding template: error executing template __alert_A: template: __alert_A:1:128: executing "__alert_A" at <$labels.nope>: range can\'t iterate over >',
    ),
    (
        '{{ if not $labels.nope }}missing{{ end }}|{{ or $labels.nope "default" }}|{{ and 1 "" }}|{{ or 0 false }}',
        "missing|default||false",
    ),
    (
        '{{ eq $labels.job "a" "node" }}|{{ ne 1 2 }}|{{ lt "a" "b" }}|{{ le 1.5 1.5 }}|{{ ge 2 1 }}|{{ eq 1.0 1.0 }}|{{ eq true true }}',
        "true|true|true|true|true|true|true",
    ),
    (
        "{{ eq $labels.job 1 }}",
        '<error expanding template: error executing template __alert_A: template: __alert_A:1:115: executing "__alert_A" at <eq $labels.job 1>: error calling eq: incompatible types for comparison>',
    ),
    (
        "{{ lt true false }}",
        '<error expanding template: error executing template __alert_A: template: __alert_A:1:115: executing "__alert_A" at <lt true false>: error calling lt: invalid type for comparison>',
    ),
    (
        '{{ eq (query "sort(m)") 1 }}',
        '<error expanding template: error executing template __alert_A: template: __alert_A:1:115: executing "__alert_A" at <eq (query "sort(m)") 1>: error calling eq: incompatible types for comparison>',
    ),
    (
        '{{ printf "%T %T %T %T %T" 1 1.5 "s" $labels (query "sort(m)" | first) }}',
        "int float64 string map[string]string *template.sample",
    ),
    (
        '{{ printf "%v" (query "sort(m)" | first) }}',
        "&{map[__name__:m instance:host1.dc1:9100 job:node] 0.1234}",
    ),
    ('{{ query "sort(m)" | first }}', "{map[__name__:m instance:host1.dc1:9100 job:node] 0.1234}"),
    ('{{ printf "%s" (toTime 1.5) }}|{{ (toTime 1.5).Unix }}', "1970-01-01 00:00:01.5 +0000 UTC|1"),
    (
        '{{ printf "%5t|%-5d|%+.2e|% d|%x" true 3 12345.678 5 "hi" }}',
        " true|3    |+1.23e+04| 5|6869",
    ),
    (
        '{{ printf "%08.3f|%-8.2f|%+v|%10v|%-10v|" -3.14159 2.5 1.5 "s" 2.25 }}',
        "-003.142|2.50    |1.5|         s|2.25      |",
    ),
    ('{{ printf "%.0f %.1f %.0f %.0f" 0.5 0.25 1.5 2.5 }}', "0 0.2 2 2"),
    ('{{ printf "%v %v %v" 1e-5 -0.0 100000000.0 }}', "1e-05 -0 1e+08"),
    (
        '{{ printf "%6.2v|%.3v|%.3s|%5.1s|" 3.14159 1234.5678 "abcdef" "xyz" }}',
        "   3.1|1.23e+03|abc|    x|",
    ),
    ('{{ printf "%q %q" "a\\"b\\n" `c\\d` }}', '"a\\"b\\n" "c\\\\d"'),
    ('{{ printf "%d %d" 1 }}', "1 %!d(MISSING)"),
    ('{{ printf "%[2]d %[1]d" 1 2 }}', "2 1"),
    ('{{ printf "%*d|%-*d|" 5 1 4 2 }}', "    1|2   |"),
    ("{{ print nil }}|{{ print 1.5 2 }}|{{ println }}|{{ print }}", "<nil>|1.5 2|\n|"),
    ('{{ len "héllo" }}|{{ slice $labels.job 1 }}|{{ index "abc" 1 }}', "6|ode|98"),
    (
        "{{ humanize 0.0001234 }}|{{ humanize 999.95 }}|{{ humanize 999999 }}|{{ humanize -0.5 }}|{{ humanize 1e-30 }}",
        "123.4u|1000|1000k|-500m|1e-06y",
    ),
    (
        "{{ humanizeDuration 0.000001 }}|{{ humanizeDuration 86400 }}|{{ humanizeDuration 1e-10 }}|{{ humanizeDuration 100000000 }}",
        "1us|1d 0h 0m 0s|100ps|1157d 9h 46m 40s",
    ),
    (
        '{{ humanizePercentage "0.5" }}|{{ humanize1024 1048576 }}|{{ humanize1024 "1e12" }}',
        "50%|1Mi|931.3Gi",
    ),
    (
        "{{ humanizeTimestamp -1.5 }}|{{ humanizeTimestamp 253402300800 }}|{{ humanizeTimestamp 1e20 }}",
        '<error expanding template: error executing template __alert_A: template: __alert_A:1:144: executing "__alert_A" at <humanizeTimestamp 253402300800>: error calling humanizeTimestamp: 2.534023008e+11 cannot be represented as a nanoseconds timestamp since it overflows int64>',
    ),
    (
        '{{ title "élan vital" }}|{{ title "o\'neil" }}|{{ title "x1y z" }}',
        "Élan Vital|O'Neil|X1y Z",
    ),
    (
        '{{ reReplaceAll "(?i)HOST" "H" $labels.instance }}|{{ reReplaceAll "[[:digit:]]+" "#" "a12b3" }}|{{ reReplaceAll "" "-" "ab" }}|{{ reReplaceAll "a|" "-" "bab" }}',
        "H1.dc1:9100|a#b#|-a-b-|-b-b-",
    ),
    ('{{ match "(?i)^HOST" $labels.instance }}|{{ match "z" "abc" }}', "true|false"),
    (
        '{{ graphLink "sum by (job) (rate(x{a=\\"b\\"}[5m]))" }}',
        "/graph?g0.expr=sum+by+%28job%29+%28rate%28x%7Ba%3D%22b%22%7D%5B5m%5D%29%29&g0.tab=0",
    ),
    (
        '{{ js "\\x01 é \\u2028" }}|{{ html "\\x00" }}|{{ urlquery "~-_.!*\'()" }}',
        "\\u0001 é \\u2028|�|~-_.%21%2A%27%28%29",
    ),
    ("{{ with $labels }}{{ .job }}{{ end }}", "node"),
    (
        '{{ range $i, $c := slice "abc" 0 2 }}{{ $i }}{{ end }}',
        '<error expanding template: error executing template __alert_A: template: __alert_A:1:145: executing "__alert_A" at <2>: range can\'t iterate over ab>',
    ),
    (
        "{{ range $i := 5 }}{{ end }}",
        '<error expanding template: error executing template __alert_A: template: __alert_A:1:127: executing "__alert_A" at <5>: range can\'t iterate over 5>',
    ),
    (
        "line1\n  {{- $labels.job -}}  \nline3\n{{ .Nope }}",
        '<error expanding template: error executing template __alert_A: template: __alert_A:4:3: executing "__alert_A" at <.Nope>: can\'t evaluate field Nope in type struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; Value float64 }>',
    ),
    (
        "a\n{{ range $k, $v := $labels }}\n  {{ $k }}: {{ $v }}\n{{- end }}\nz",
        "a\n\n  __name__: m\n  instance: host1.dc1:9100\n  job: node\nz",
    ),
    (
        '{{ define "x" }}{{ .job }}/{{ $.instance }}{{ end }}{{ template "x" $labels }}\n{{ template "x" . }}',
        '<error expanding template: error executing template __alert_A: template: __alert_A:1:131: executing "x" at <.job>: can\'t evaluate field job in type struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; Value float64 }>',
    ),
    (
        '{{ $x := 0.0 }}{{ range query "sort(m)" }}{{ $x = value . }}{{ end }}{{ $x }}',
        "1.2345675e+06",
    ),
    (
        'x\n\n{{ humanize "bad" }}',
        '<error expanding template: error executing template __alert_A: template: __alert_A:3:3: executing "__alert_A" at <humanize "bad">: error calling humanize: strconv.ParseFloat: parsing "bad": invalid syntax>',
    ),
    (
        '{{ with query "nothing" }}some{{ else }}none{{ end }}|{{ if query "nothing" }}y{{ else }}n{{ end }}',
        "none|n",
    ),
    (
        '{{ printf "%s" $labels }}|{{ printf "%d" $labels }}',
        "map[__name__:m instance:host1.dc1:9100 job:node]|map[%!d(string=__name__):%!d(string=m) %!d(string=instance):%!d(string=host1.dc1:9100) %!d(string=job):%!d(string=node)]",
    ),
    (
        '{{ $value | humanize }} {{ $value | printf "%.1f" }} {{ .Value | humanize1024 }}',
        "123.4m 0.1 0.1234",
    ),
    (
        '{{ range $i, $e := query "sort(m)" | sortByLabel "instance" }}{{ if $i }}, {{ end }}{{ $e.Labels.instance }}{{ end }}',
        "host1.dc1:9100, host2.dc1:9100",
    ),
    ('{{ index $labels "instance" | stripPort | toUpper }}', "HOST1.DC1"),
    ('{{ "x" | printf "%s %s" "a" }}{{ 3 | printf "%d" }}', "a x3"),
    ('{{ template "y" }}{{ define "y" }}Y{{ $ }}Y{{ end }}', "Y<no value>Y"),
    ('{{ $labels.job | len | printf "%05d" }}', "00004"),
    (
        '{{ humanizeDuration "90" }}|{{ humanizeTimestamp "1.5" }}|{{ humanize "1e3" }}|{{ humanize " 1" }}',
        '<error expanding template: error executing template __alert_A: template: __alert_A:1:194: executing "__alert_A" at <humanize " 1">: error calling humanize: strconv.ParseFloat: parsing " 1": invalid syntax>',
    ),
    (
        '{{ humanize "0x10" }}|{{ humanize "1_000" }}|{{ humanize "inf" }}|{{ humanize "-Infinity" }}|{{ humanize "nan" }}',
        '<error expanding template: error executing template __alert_A: template: __alert_A:1:115: executing "__alert_A" at <humanize "0x10">: error calling humanize: strconv.ParseFloat: parsing "0x10": invalid syntax>',
    ),
    ('{{ humanize "1_000" }}', "1k"),
    (
        '{{ humanize ".5" }}|{{ humanize "5." }}|{{ humanize "+5" }}|{{ humanize "1e" }}',
        '<error expanding template: error executing template __alert_A: template: __alert_A:1:175: executing "__alert_A" at <humanize "1e">: error calling humanize: strconv.ParseFloat: parsing "1e": invalid syntax>',
    ),
    ('{{ humanize "1_000" }}', "1k"),
    ('{{ humanize "inf" }}', "+Inf"),
    ('{{ humanize "-Infinity" }}', "-Inf"),
    ('{{ humanize "nan" }}', "NaN"),
    (
        '{{ humanize "+nan" }}',
        '<error expanding template: error executing template __alert_A: template: __alert_A:1:115: executing "__alert_A" at <humanize "+nan">: error calling humanize: strconv.ParseFloat: parsing "+nan": invalid syntax>',
    ),
    ('{{ humanize "NaN" }}', "NaN"),
    (
        '{{ humanize "-nan" }}',
        '<error expanding template: error executing template __alert_A: template: __alert_A:1:115: executing "__alert_A" at <humanize "-nan">: error calling humanize: strconv.ParseFloat: parsing "-nan": invalid syntax>',
    ),
    ('{{ humanize "0x1p4" }}', "16"),
    ('{{ humanize "0x_1p4" }}', "16"),
    ('{{ humanize "1e5_0" }}', "1e+26Y"),
    ('{{ humanize "0x1.8p1" }}', "3"),
    (
        '{{ humanize "0x10" }}',
        '<error expanding template: error executing template __alert_A: template: __alert_A:1:115: executing "__alert_A" at <humanize "0x10">: error calling humanize: strconv.ParseFloat: parsing "0x10": invalid syntax>',
    ),
    (
        '{{ humanize "1e400" }}',
        '<error expanding template: error executing template __alert_A: template: __alert_A:1:115: executing "__alert_A" at <humanize "1e400">: error calling humanize: strconv.ParseFloat: parsing "1e400": value out of range>',
    ),
    (
        '{{ humanize "-1e400" }}',
        '<error expanding template: error executing template __alert_A: template: __alert_A:1:115: executing "__alert_A" at <humanize "-1e400">: error calling humanize: strconv.ParseFloat: parsing "-1e400": value out of range>',
    ),
    ('{{ humanize "1e-400" }}', "0"),
    (
        '{{ humanize "_1" }}',
        '<error expanding template: error executing template __alert_A: template: __alert_A:1:115: executing "__alert_A" at <humanize "_1">: error calling humanize: strconv.ParseFloat: parsing "_1": invalid syntax>',
    ),
    (
        '{{ humanize "1_" }}',
        '<error expanding template: error executing template __alert_A: template: __alert_A:1:115: executing "__alert_A" at <humanize "1_">: error calling humanize: strconv.ParseFloat: parsing "1_": invalid syntax>',
    ),
    (
        '{{ humanize "1__0" }}',
        '<error expanding template: error executing template __alert_A: template: __alert_A:1:115: executing "__alert_A" at <humanize "1__0">: error calling humanize: strconv.ParseFloat: parsing "1__0": invalid syntax>',
    ),
    (
        '{{ humanize "1._5" }}',
        '<error expanding template: error executing template __alert_A: template: __alert_A:1:115: executing "__alert_A" at <humanize "1._5">: error calling humanize: strconv.ParseFloat: parsing "1._5": invalid syntax>',
    ),
    (
        '{{ humanize "1_.5" }}',
        '<error expanding template: error executing template __alert_A: template: __alert_A:1:115: executing "__alert_A" at <humanize "1_.5">: error calling humanize: strconv.ParseFloat: parsing "1_.5": invalid syntax>',
    ),
    ('{{ humanize ".5" }}', "500m"),
    (
        '{{ humanize "." }}',
        '<error expanding template: error executing template __alert_A: template: __alert_A:1:115: executing "__alert_A" at <humanize ".">: error calling humanize: strconv.ParseFloat: parsing ".": invalid syntax>',
    ),
    (
        '{{ humanize ".e5" }}',
        '<error expanding template: error executing template __alert_A: template: __alert_A:1:115: executing "__alert_A" at <humanize ".e5">: error calling humanize: strconv.ParseFloat: parsing ".e5": invalid syntax>',
    ),
    ('{{ humanize "5." }}', "5"),
    ('{{ humanize "+5" }}', "5"),
    (
        '{{ humanize "1e" }}',
        '<error expanding template: error executing template __alert_A: template: __alert_A:1:115: executing "__alert_A" at <humanize "1e">: error calling humanize: strconv.ParseFloat: parsing "1e": invalid syntax>',
    ),
    (
        '{{ humanize "1e+" }}',
        '<error expanding template: error executing template __alert_A: template: __alert_A:1:115: executing "__alert_A" at <humanize "1e+">: error calling humanize: strconv.ParseFloat: parsing "1e+": invalid syntax>',
    ),
    (
        '{{ humanize "0x" }}',
        '<error expanding template: error executing template __alert_A: template: __alert_A:1:115: executing "__alert_A" at <humanize "0x">: error calling humanize: strconv.ParseFloat: parsing "0x": invalid syntax>',
    ),
    (
        '{{ humanize "0xp1" }}',
        '<error expanding template: error executing template __alert_A: template: __alert_A:1:115: executing "__alert_A" at <humanize "0xp1">: error calling humanize: strconv.ParseFloat: parsing "0xp1": invalid syntax>',
    ),
    ('{{ humanize "0x.8p1" }}', "1"),
    ('{{ humanize "1E5" }}', "100k"),
    ('{{ humanize "+Inf" }}', "+Inf"),
    ('{{ humanize "INF" }}', "+Inf"),
    (
        '{{ humanize "infinity " }}',
        '<error expanding template: error executing template __alert_A: template: __alert_A:1:115: executing "__alert_A" at <humanize "infinity ">: error calling humanize: strconv.ParseFloat: parsing "infinity ": invalid syntax>',
    ),
    (
        '{{ humanize "0b101" }}',
        '<error expanding template: error executing template __alert_A: template: __alert_A:1:115: executing "__alert_A" at <humanize "0b101">: error calling humanize: strconv.ParseFloat: parsing "0b101": invalid syntax>',
    ),
    (
        '{{ humanize "0o7" }}',
        '<error expanding template: error executing template __alert_A: template: __alert_A:1:115: executing "__alert_A" at <humanize "0o7">: error calling humanize: strconv.ParseFloat: parsing "0o7": invalid syntax>',
    ),
    ('{{ humanize "0x1P-2" }}', "250m"),
    ('{{ humanize "1.5e+3" }}', "1.5k"),
    ('{{ humanize "9007199254740993" }}', "9.007P"),
    (
        '{{ humanize " 1" }}',
        '<error expanding template: error executing template __alert_A: template: __alert_A:1:115: executing "__alert_A" at <humanize " 1">: error calling humanize: strconv.ParseFloat: parsing " 1": invalid syntax>',
    ),
    (
        '{{ label "job" nil }}',
        '<error expanding template: error executing template __alert_A: template: __alert_A:1:115: executing "__alert_A" at <label "job" nil>: error calling label: runtime error: invalid memory address or nil pointer dereference>',
    ),
    (
        "{{ value nil }}",
        '<error expanding template: error executing template __alert_A: template: __alert_A:1:115: executing "__alert_A" at <value nil>: error calling value: runtime error: invalid memory address or nil pointer dereference>',
    ),
    (
        "{{ strvalue nil }}",
        '<error expanding template: error executing template __alert_A: template: __alert_A:1:115: executing "__alert_A" at <strvalue nil>: error calling strvalue: runtime error: invalid memory address or nil pointer dereference>',
    ),
    (
        '{{ toTime "x" }}',
        '<error expanding template: error executing template __alert_A: template: __alert_A:1:115: executing "__alert_A" at <toTime "x">: error calling toTime: strconv.ParseFloat: parsing "x": invalid syntax>',
    ),
    ("{{ toTime (0.0) }}", "1970-01-01 00:00:00 +0000 UTC"),
    ("{{ (toTime 1.5).Unix }}|{{ (toTime 1.5).UnixMilli }}", "1|1500"),
    ('{{ (toTime 1.5).Format "2006-01-02" }}', "1970-01-01"),
    ('{{ toTime 1.5 | printf "%v" }}', "1970-01-01 00:00:01.5 +0000 UTC"),
    ("{{ $t := toTime 1e9 }}{{ $t.Year }}", "2001"),
    (
        '{{ parseDuration "1x" }}',
        '<error expanding template: error executing template __alert_A: template: __alert_A:1:115: executing "__alert_A" at <parseDuration "1x">: error calling parseDuration: not a valid duration string: "1x">',
    ),
    (
        '{{ parseDuration "" }}',
        '<error expanding template: error executing template __alert_A: template: __alert_A:1:115: executing "__alert_A" at <parseDuration "">: error calling parseDuration: empty duration string>',
    ),
    (
        '{{ parseDuration "1h1h" }}',
        '<error expanding template: error executing template __alert_A: template: __alert_A:1:115: executing "__alert_A" at <parseDuration "1h1h">: error calling parseDuration: not a valid duration string: "1h1h">',
    ),
    ('{{ parseDuration "5m30s" | humanizeDuration }}', "5m 30s"),
    ('{{ sortByLabel "job" (query "sort(m)") | len }}', "2"),
    ('{{ first (query "sort(m)") | printf "%T" }}', "*template.sample"),
    ('{{ query "sort(m)" | printf "%T" }}', "template.queryResult"),
    ('{{ safeHtml "<b>" | printf "%T %s" }}', "template.HTML %!s(MISSING)"),
    ("{{ args | len }}", "0"),
    ('{{ (args 1 "x").arg1 }}|{{ (args).arg0 }}', "x|<no value>"),
    ('{{ title "" }}|{{ toUpper "ß" }}|{{ toLower "İ" }}|{{ title "ǆemal" }}', "|ß|i|ǅemal"),
    (
        "{{ $x = 1 }}",
        '<error expanding template: error executing template __alert_A: template: __alert_A:1:120: executing "__alert_A" at <1>: undefined variable: $x>',
    ),
    (
        '{{ template "nope" }}',
        '<error expanding template: error executing template __alert_A: template: __alert_A:1:124: executing "__alert_A" at <{{template "nope"}}>: template "nope" not defined>',
    ),
    ("{{- 1 -}}", "1"),
    (
        "{{ .Labels.job.x }}",
        '<error expanding template: error executing template __alert_A: template: __alert_A:1:122: executing "__alert_A" at <.Labels.job.x>: can\'t evaluate field x in type string>',
    ),
    (
        "{{ .Labels.job 1 }}",
        '<error expanding template: error executing template __alert_A: template: __alert_A:1:122: executing "__alert_A" at <.Labels.job>: job is not a method but has arguments>',
    ),
    (
        "{{ 1 2 }}",
        '<error expanding template: error executing template __alert_A: template: __alert_A:1:115: executing "__alert_A" at <1>: can\'t give argument to non-function 1>',
    ),
    (
        "{{ $labels 1 }}",
        '<error expanding template: error executing template __alert_A: template: __alert_A:1:115: executing "__alert_A" at <$labels>: can\'t give argument to non-function $labels>',
    ),
    (
        "{{ (1).x }}",
        '<error expanding template: error executing template __alert_A: template: __alert_A:1:116: executing "__alert_A" at <1>: can\'t evaluate field x in type int>',
    ),
    (
        "{{ .Value | .Labels }}",
        '<error expanding template: error executing template __alert_A: template: __alert_A:1:124: executing "__alert_A" at <.Labels>: Labels has arguments but cannot be invoked as function>',
    ),
    ('{{ printf "%s" | len }}', "12"),
    (
        "{{ len 1 }}",
        '<error expanding template: error executing template __alert_A: template: __alert_A:1:115: executing "__alert_A" at <len 1>: error calling len: len of type int>',
    ),
    (
        '{{ slice "abc" 2 1 }}',
        '<error expanding template: error executing template __alert_A: template: __alert_A:1:115: executing "__alert_A" at <slice "abc" 2 1>: error calling slice: invalid slice index: 2 > 1>',
    ),
    (
        "{{ index nil 1 }}",
        '<error expanding template: error executing template __alert_A: template: __alert_A:1:115: executing "__alert_A" at <index nil 1>: error calling index: index of untyped nil>',
    ),
    (
        "{{ call 1 }}",
        '<error expanding template: error executing template __alert_A: template: __alert_A:1:115: executing "__alert_A" at <call 1>: error calling call: non-function of type int>',
    ),
    (
        "{{ eq }}",
        '<error expanding template: error executing template __alert_A: template: __alert_A:1:115: executing "__alert_A" at <eq>: wrong number of args for eq: want at least 1 got 0>',
    ),
    (
        "{{ and }}",
        '<error expanding template: error executing template __alert_A: template: __alert_A:1:115: executing "__alert_A" at <and>: wrong number of args for and: want at least 1 got 0>',
    ),
]

# Templates promtool rejects when loading a rule file, with its message.
PARSE_ERRORS: list[tuple[str, str]] = [
    ("{{ if }}", "template: __alert_A:1: missing value for if"),
    ("{{ end }}", "template: __alert_A:1: unexpected {{end}}"),
    ("{{ if 1 }}x", "template: __alert_A:1: unexpected EOF"),
    ("{{ else }}", "template: __alert_A:1: unexpected {{else}}"),
    ("{{ range }}{{ end }}", "template: __alert_A:1: missing value for range"),
    ("{{ $x }}", 'template: __alert_A:1: undefined variable "$x"'),
    ("{{ humanise 1 }}", 'template: __alert_A:1: function "humanise" not defined'),
    ('{{ "unterminated }}', "template: __alert_A:1: unterminated quoted string"),
    ("{{ `raw }}", "template: __alert_A:1: unterminated raw quoted string"),
    ("{{ 1 | 2 }}", "template: __alert_A:1: non executable command in pipeline stage 2"),
    (
        '{{ . | printf "%v" | 3 }}',
        "template: __alert_A:1: non executable command in pipeline stage 3",
    ),
    ("{{ ( 1 }}", "template: __alert_A:1: unclosed left paren"),
    ("{{ 1 ) }}", 'template: __alert_A:1: unexpected ")" in command'),
    ("{{ .a. }}", "template: __alert_A:1: unexpected <.> in operand"),
    ("{{ 1.2.3 }}", 'template: __alert_A:1: unexpected ".3" in operand'),
    (
        "{{ 99999999999999999999 }}",
        'template: __alert_A:1: integer overflow: "99999999999999999999"',
    ),
    ('{{ "a".b }}', 'template: __alert_A:1: unexpected . after term "\\"a\\""'),
    ("{{ break }}", "template: __alert_A:1: {{break}} outside {{range}}"),
    ("{{ range . }}{{ break 1 }}{{ end }}", 'template: __alert_A:1: unexpected "1" in {{break}}'),
    (
        '{{ define "x" }}{{ end }}{{ define "x" }}a{{ end }}{{ define "x" }}b{{ end }}',
        'template: __alert_A:1: template: multiple definition of template "x"',
    ),
    ("{{ template x }}", 'template: __alert_A:1: unexpected "x" in template clause'),
    ("{{ /* bad comment */ }}", 'template: __alert_A:1: unexpected "/" in command'),
    ("{{/* unclosed", "template: __alert_A:1: unclosed comment"),
    ("{{ 'ab' }}", "template: __alert_A:1: malformed character constant: 'ab'"),
    ('{{ "\\q" }}', "template: __alert_A:1: invalid syntax"),
    ("{{ if 1 }}{{ else if }}{{ end }}", "template: __alert_A:1: missing value for if"),
    (
        "{{ range $a, $b, $c := . }}{{ end }}",
        "template: __alert_A:1: too many declarations in range",
    ),
    ("{{ with $a, $b := . }}{{ end }}", "template: __alert_A:1: too many declarations in with"),
    (
        "{{ if 1 }}a{{ else }}b{{ else }}c{{ end }}",
        "template: __alert_A:1: expected end; found {{else}}",
    ),
    ("{{ foo: }}", 'template: __alert_A:1: function "foo" not defined'),
    ("{{ @ }}", 'template: __alert_A:1: unexpected "@" in command'),
    ("{{ .Labels", "template: __alert_A:1: unclosed action"),
    ("{{ nil.x }}", 'template: __alert_A:1: unexpected . after term "nil"'),
]
