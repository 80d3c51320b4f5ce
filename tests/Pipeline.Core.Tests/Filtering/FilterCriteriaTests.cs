using System.Text;
using Pipeline.Core.Filtering;

namespace Pipeline.Core.Tests.Filtering;

public sealed class FilterCriteriaTests
{
    private static bool Match(string pattern, string body) =>
        FilterCriteria.Create([pattern]).Matches(Encoding.UTF8.GetBytes(body));

    [Theory]
    [InlineData("""{"RequestCode":"BBBB"}""", true)]
    [InlineData("""{"RequestCode":"AAAA"}""", false)]
    [InlineData("""{"RequestCode":["AAAA","BBBB"]}""", true)] // an array in the event matches when any element does
    [InlineData("""{"Other":"BBBB"}""", false)]
    [InlineData("""{"RequestCode":{"nested":"BBBB"}}""", false)] // rules see leaves only
    public void Given_an_exact_string_pattern_When_bodies_are_matched_Then_only_that_value_passes(string body, bool expected) =>
        Assert.Equal(expected, Match("""{"body":{"RequestCode":["BBBB"]}}""", body));

    [Theory]
    [InlineData("""{"n":5}""", true)]
    [InlineData("""{"n":5.0}""", true)] // numbers compare by value
    [InlineData("""{"n":"5"}""", false)] // a string is not a number
    [InlineData("""{"flag":true}""", true)]
    [InlineData("""{"flag":"true"}""", false)]
    [InlineData("""{"x":null}""", true)]
    [InlineData("""{"y":1}""", false)] // null matches an explicit null only, not a missing field
    [InlineData("""{"e":""}""", true)]
    public void Given_exact_values_of_each_JSON_type_When_matched_Then_type_and_value_must_agree(string body, bool expected)
    {
        var criteria = FilterCriteria.Create(
        [
            """{"body":{"n":[5]}}""",
            """{"body":{"flag":[true]}}""",
            """{"body":{"x":[null]}}""",
            """{"body":{"e":[""]}}""",
        ]);
        Assert.Equal(expected, criteria.Matches(Encoding.UTF8.GetBytes(body)));
    }

    [Theory]
    [InlineData(0, false)]
    [InlineData(0.5, true)]
    [InlineData(5, true)]
    [InlineData(5.01, false)]
    [InlineData(-3, false)]
    public void Given_a_numeric_range_When_numbers_are_matched_Then_bounds_are_exclusive_or_inclusive_as_written(double value, bool expected) =>
        Assert.Equal(expected, Match("""{"body":{"n":[{"numeric":[">",0,"<=",5]}]}}""",
            $$"""{"n":{{value.ToString(System.Globalization.CultureInfo.InvariantCulture)}}}"""));

    [Theory]
    [InlineData("""{"numeric":["=",100]}""", "100", true)]
    [InlineData("""{"numeric":["=",100]}""", "100.5", false)]
    [InlineData("""{"numeric":[">=",100]}""", "100", true)]
    [InlineData("""{"numeric":["<",100]}""", "100", false)]
    [InlineData("""{"numeric":["<",100]}""", "\"99\"", false)]
    [InlineData("""{"prefix":"in/"}""", "\"in/a.jpg\"", true)]
    [InlineData("""{"prefix":"in/"}""", "\"out/a.jpg\"", false)]
    [InlineData("""{"suffix":".png"}""", "\"a.png\"", true)]
    [InlineData("""{"suffix":".png"}""", "\"a.jpg\"", false)]
    [InlineData("""{"equals-ignore-case":"CUTOUT"}""", "\"cutout\"", true)]
    [InlineData("""{"anything-but":["mask","none"]}""", "\"cutout\"", true)]
    [InlineData("""{"anything-but":["mask","none"]}""", "\"mask\"", false)]
    [InlineData("""{"anything-but":"mask"}""", "\"mask\"", false)]
    [InlineData("""{"anything-but":[1,2]}""", "2", false)]
    [InlineData("""{"anything-but":[1,2]}""", "3", true)]
    [InlineData("""{"anything-but":{"prefix":"tmp/"}}""", "\"tmp/a\"", false)]
    [InlineData("""{"anything-but":{"prefix":"tmp/"}}""", "\"in/a\"", true)]
    [InlineData("""{"exists":true}""", "\"anything\"", true)]
    [InlineData("""{"exists":true}""", "null", true)]
    [InlineData("""{"exists":false}""", "1", false)]
    public void Given_an_operator_rule_When_a_value_is_matched_Then_it_follows_the_AWS_rule(string rule, string value, bool expected) =>
        Assert.Equal(expected, Match($$$"""{"body":{"f":[{{{rule}}}]}}""", $$$"""{"f":{{{value}}}}"""));

    [Fact]
    public void Given_exists_rules_When_the_field_is_missing_Then_only_exists_false_and_no_other_rule_matches()
    {
        Assert.True(Match("""{"body":{"f":[{"exists":false}]}}""", """{"g":1}"""));
        Assert.True(Match("""{"body":{"a":{"b":[{"exists":false}]}}}""", """{"g":1}""")); // the whole path is missing
        Assert.False(Match("""{"body":{"f":[{"exists":true}]}}""", """{"g":1}"""));
        Assert.False(Match("""{"body":{"f":[{"anything-but":"x"}]}}""", """{"g":1}""")); // anything-but needs a value
        Assert.False(Match("""{"body":{"f":[{"exists":true}]}}""", """{"f":{"inner":1}}""")); // an object is not a leaf
    }

    [Fact]
    public void Given_nested_fields_When_matched_Then_all_fields_must_match_and_arrays_of_objects_match_per_element()
    {
        const string Pattern = """{"body":{"job":{"output":["mask"],"size":[{"numeric":[">",10]}]}}}""";
        Assert.True(Match(Pattern, """{"job":{"output":"mask","size":11}}"""));
        Assert.False(Match(Pattern, """{"job":{"output":"mask","size":9}}"""));
        Assert.True(Match(Pattern, """{"job":[{"output":"cutout","size":50},{"output":"mask","size":20}]}"""));

        // Both fields must come from the same element, not one from each.
        Assert.False(Match(Pattern, """{"job":[{"output":"mask","size":1},{"output":"cutout","size":50}]}"""));
    }

    [Fact]
    public void Given_several_filters_When_a_record_matches_any_Then_it_passes()
    {
        var criteria = FilterCriteria.Create(["""{"body":{"a":["1"]}}""", """{"body":{"b":["2"]}}"""]);
        Assert.True(criteria.Matches(Encoding.UTF8.GetBytes("""{"b":"2"}""")));
        Assert.True(criteria.Matches(Encoding.UTF8.GetBytes("""{"a":"1"}""")));
        Assert.False(criteria.Matches(Encoding.UTF8.GetBytes("""{"a":"2","b":"1"}""")));
    }

    [Fact]
    public void Given_plain_string_and_JSON_bodies_When_filtered_Then_each_kind_only_matches_its_own_kind_of_pattern()
    {
        const string PlainPattern = """{"body":[{"prefix":"Result: "}]}""";
        const string JsonPattern = """{"body":{"a":[{"exists":true}]}}""";

        Assert.True(Match(PlainPattern, "Result: ok"));
        Assert.False(Match(PlainPattern, "Other: ok"));
        Assert.False(Match(PlainPattern, """{"a":"Result: ok"}""")); // JSON body, plain-string filter: no match
        Assert.False(Match(JsonPattern, "not json {a}"));            // plain body, JSON filter: no match
        Assert.False(Match(JsonPattern, """{"a": broken"""));       // looks like JSON but is not
        Assert.True(Match("""{"body":["exact text"]}""", "exact text"));
    }

    [Theory]
    [InlineData("""{"body":{"a":"x"}}""", "body.a must be an array of rules")]
    [InlineData("""{"body":{"a":[]}}""", "body.a is an empty rule array")]
    [InlineData("""{"body":{}}""", "body is an empty object")]
    [InlineData("""{"body":{"a":[{"contains":"x"}]}}""", "unknown operator \"contains\"")]
    [InlineData("""{"body":{"a":[{"prefix":1}]}}""", "body.a[0].prefix must be a string")]
    [InlineData("""{"body":{"a":[{"numeric":[">"]}]}}""", "body.a[0].numeric must be an array of one or two")]
    [InlineData("""{"body":{"a":[{"numeric":[">",5,"<",1]}]}}""", "the range is empty")]
    [InlineData("""{"body":{"a":[{"numeric":[">",1,">=",2]}]}}""", "two lower bounds")]
    [InlineData("""{"body":{"a":[{"numeric":["!=",1]}]}}""", "unknown comparison \"!=\"")]
    [InlineData("""{"body":{"a":[{"numeric":["=",1,"<",5]}]}}""", "\"=\" stands alone")]
    [InlineData("""{"body":{"a":[{"exists":"yes"}]}}""", "exists must be true or false")]
    [InlineData("""{"body":{"a":[{"prefix":"x","suffix":"y"}]}}""", "exactly one operator")]
    [InlineData("""{"body":{"a":[{"anything-but":[true]}]}}""", "anything-but[0] must be a string or a number")]
    [InlineData("""{"body":{"a":{"prefix":"x"}}}""", "an operator must sit inside the field's rule array")]
    [InlineData("""{"attributes":{"a":["x"]}}""", "filters only on the \"body\" key")]
    [InlineData("""{}""", "must filter on \"body\"")]
    [InlineData("""["body"]""", "a pattern is a JSON object")]
    [InlineData("""{"body": """, "not valid JSON")]
    public void Given_an_invalid_pattern_When_loaded_Then_the_error_names_the_filter_and_the_problem(string pattern, string expected)
    {
        var ex = Assert.Throws<FilterCriteriaException>(() => FilterCriteria.Create(["""{"body":{"ok":["1"]}}""", pattern]));
        Assert.Equal(1, ex.FilterIndex);
        Assert.StartsWith("FilterCriteria.Filters[1].Pattern: ", ex.Message, StringComparison.Ordinal);
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Given_too_many_or_no_filters_When_loaded_Then_the_list_is_rejected()
    {
        string p = """{"body":{"a":["1"]}}""";
        Assert.Contains("at most 5", Assert.Throws<FilterCriteriaException>(() => FilterCriteria.Create([p, p, p, p, p, p])).Message, StringComparison.Ordinal);
        Assert.Contains("is empty", Assert.Throws<FilterCriteriaException>(() => FilterCriteria.Create([])).Message, StringComparison.Ordinal);
        Assert.Contains("limit is 4,096", Assert.Throws<FilterCriteriaException>(() => FilterCriteria.Create(["{" + new string(' ', 4096) + "}"])).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Given_the_API_shape_When_parsed_Then_string_and_object_patterns_both_load()
    {
        var criteria = FilterCriteria.Parse("""
            {"Filters":[{"Pattern":"{ \"body\" : { \"RequestCode\" : [ \"BBBB\" ] } }"},{"Pattern":{"body":{"RecordNumber":[{"numeric":[">",9999]}]}}}]}
            """);

        Assert.Equal(2, criteria.Patterns.Count);
        Assert.True(criteria.Matches(Encoding.UTF8.GetBytes("""{"RequestCode":"BBBB"}""")));
        Assert.True(criteria.Matches(Encoding.UTF8.GetBytes("""{"RecordNumber":10000}""")));
        Assert.False(criteria.Matches(Encoding.UTF8.GetBytes("""{"RecordNumber":9999}""")));
        Assert.Contains("\"Filters\" array", Assert.Throws<FilterCriteriaException>(() => FilterCriteria.Parse("""{"filters":[]}""")).Message, StringComparison.Ordinal);
        Assert.Contains("Filters[0] must be an object with a \"Pattern\"", Assert.Throws<FilterCriteriaException>(() => FilterCriteria.Parse("""{"Filters":[{}]}""")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Given_a_Kinesis_payload_key_When_a_pattern_uses_data_Then_it_loads_and_body_is_refused()
    {
        var criteria = FilterCriteria.Create(["""{"data":{"k":["v"]}}"""], FilterCriteria.KinesisPayloadKey);
        Assert.True(criteria.Matches(Encoding.UTF8.GetBytes("""{"k":"v"}""")));
        Assert.Throws<FilterCriteriaException>(() => FilterCriteria.Create(["""{"body":{"k":["v"]}}"""], FilterCriteria.KinesisPayloadKey));
    }
}
