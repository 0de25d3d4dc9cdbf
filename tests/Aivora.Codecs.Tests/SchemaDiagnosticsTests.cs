using System.Collections.Immutable;
using Aivora.Codecs.Generator;
using Aivora.Codecs.Generator.Schema;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Text;

namespace Aivora.Codecs.Tests;

/// <summary>Schema mistakes are build errors naming the element and its line, never a crash.</summary>
public sealed class SchemaDiagnosticsTests
{
    private const string Types = """
        <types>
          <composite name="messageHeader">
            <type name="blockLength" primitiveType="uint16"/>
            <type name="templateId" primitiveType="uint16"/>
            <type name="schemaId" primitiveType="uint16"/>
            <type name="version" primitiveType="uint16"/>
          </composite>
          <composite name="groupSizeEncoding">
            <type name="blockLength" primitiveType="uint16"/>
            <type name="numInGroup" primitiveType="uint16"/>
          </composite>
        </types>
        """;

    private static string Schema(string messages) =>
        $"<?xml version=\"1.0\"?>\n<sbe:messageSchema xmlns:sbe=\"http://fixprotocol.io/2016/sbe\" package=\"t\" id=\"1\" version=\"0\">\n{Types}\n{messages}\n</sbe:messageSchema>";

    public static TheoryData<string, string, string> Broken => new()
    {
        { "unknown type", "<sbe:message name=\"M\" id=\"1\">\n<field name=\"a\" id=\"1\" type=\"NoSuchType\"/>\n</sbe:message>", SchemaErrors.UnknownType },
        { "overlapping offset", "<sbe:message name=\"M\" id=\"1\">\n<field name=\"a\" id=\"1\" type=\"int64\"/>\n<field name=\"b\" id=\"2\" type=\"int32\" offset=\"4\"/>\n</sbe:message>", SchemaErrors.OverlappingOffset },
        { "duplicate field id", "<sbe:message name=\"M\" id=\"1\">\n<field name=\"a\" id=\"1\" type=\"int64\"/>\n<field name=\"b\" id=\"1\" type=\"int32\"/>\n</sbe:message>", SchemaErrors.BadId },
        { "non-numeric message id", "<sbe:message name=\"M\" id=\"one\">\n<field name=\"a\" id=\"1\" type=\"int64\"/>\n</sbe:message>", SchemaErrors.BadId },
        { "duplicate message id", "<sbe:message name=\"M\" id=\"1\">\n<field name=\"a\" id=\"1\" type=\"int64\"/>\n</sbe:message>\n<sbe:message name=\"N\" id=\"1\">\n<field name=\"a\" id=\"1\" type=\"int64\"/>\n</sbe:message>", SchemaErrors.BadId },
        { "block length too small", "<sbe:message name=\"M\" id=\"1\" blockLength=\"4\">\n<field name=\"a\" id=\"1\" type=\"int64\"/>\n</sbe:message>", SchemaErrors.BlockLengthTooSmall },
        { "field after group", "<sbe:message name=\"M\" id=\"1\">\n<group name=\"g\" id=\"2\">\n<field name=\"x\" id=\"3\" type=\"int8\"/>\n</group>\n<field name=\"a\" id=\"1\" type=\"int64\"/>\n</sbe:message>", SchemaErrors.ElementOrder },
        { "name not symbolic", "<sbe:message name=\"M\" id=\"1\">\n<field name=\"a-b\" id=\"1\" type=\"int64\"/>\n</sbe:message>", SchemaErrors.InvalidAttribute },
        { "field id beyond uint16", "<sbe:message name=\"M\" id=\"1\">\n<field name=\"a\" id=\"70000\" type=\"int64\"/>\n</sbe:message>", SchemaErrors.BadId },
        { "bad primitive", "<sbe:message name=\"M\" id=\"1\">\n<field name=\"a\" id=\"1\" type=\"int64\"/>\n</sbe:message>\n</sbe:messageSchema><x/>", SchemaErrors.Malformed },
    };

    [Theory]
    [MemberData(nameof(Broken))]
    public void ShouldReportCodedErrorAtTheOffendingLineWhenSchemaIsBroken(string problem, string messages, string code)
    {
        var xml = Schema(messages);

        var (schema, diagnostics) = SchemaParser.Parse(xml);

        Assert.Null(schema);
        var diagnostic = Assert.Single(diagnostics, d => d.Code == code);
        Assert.True(diagnostic.Where.Line > 1, $"{problem}: {diagnostic}");
        var line = xml.Split('\n')[diagnostic.Where.Line - 1];
        Assert.True(problem == "bad primitive" || line.Contains('<', StringComparison.Ordinal), $"{problem}: line {diagnostic.Where.Line} is '{line}'");
    }

    [Fact]
    public void ShouldPointAtTheUnknownTypesFieldLine()
    {
        var xml = Schema("<sbe:message name=\"M\" id=\"1\">\n<field name=\"a\" id=\"1\" type=\"int64\"/>\n<field name=\"b\" id=\"2\" type=\"Nope\"/>\n</sbe:message>");

        var (_, diagnostics) = SchemaParser.Parse(xml);

        var error = Assert.Single(diagnostics);
        Assert.Contains("name=\"b\"", xml.Split('\n')[error.Where.Line - 1], StringComparison.Ordinal);
        Assert.Contains("Nope", error.Message, StringComparison.Ordinal);
    }

    private sealed class InMemoryFile(string path, string text) : AdditionalText
    {
        public override string Path => path;

        public override SourceText GetText(CancellationToken cancellationToken = default) => SourceText.From(text);
    }

    [Fact]
    public void ShouldSurfaceSchemaErrorsAsBuildDiagnosticsWithFileAndLine()
    {
        var xml = Schema("<sbe:message name=\"M\" id=\"1\">\n<field name=\"a\" id=\"1\" type=\"Missing\"/>\n</sbe:message>");
        var compilation = CSharpCompilation.Create("probe", [CSharpSyntaxTree.ParseText("class C {}")], [MetadataReference.CreateFromFile(typeof(object).Assembly.Location)]);
        GeneratorDriver driver = CSharpGeneratorDriver.Create([new SbeSourceGenerator().AsSourceGenerator()], additionalTexts: ImmutableArray.Create<AdditionalText>(new InMemoryFile("/schemas/broken.xml", xml)));

        driver = driver.RunGeneratorsAndUpdateCompilation(compilation, out _, out var diagnostics);

        var error = Assert.Single(diagnostics);
        Assert.Equal(SchemaErrors.UnknownType, error.Id);
        Assert.Equal(DiagnosticSeverity.Error, error.Severity);
        var span = error.Location.GetLineSpan();
        Assert.Equal("/schemas/broken.xml", span.Path);
        Assert.Contains("type=\"Missing\"", xml.Split('\n')[span.StartLinePosition.Line], StringComparison.Ordinal);
        Assert.Empty(driver.GetRunResult().GeneratedTrees);
    }

    [Fact]
    public void ShouldLayOutTheReferenceSchemaAsTheReferenceToolDoes()
    {
        var xml = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Vectors", "perp-v1.xml"));
        var (schema, diagnostics) = SchemaParser.Parse(xml);

        Assert.Empty(diagnostics);
        Assert.NotNull(schema);
        var nos = schema!.Messages.Single(m => m.Name == "NewOrderSingle");
        Assert.Equal(62, nos.BlockLength);
        Assert.Equal(60, nos.Fields.Single(f => f.Name == "leverage").Offset);
        Assert.Equal(9, nos.Groups.Single().BlockLength);
    }
}
