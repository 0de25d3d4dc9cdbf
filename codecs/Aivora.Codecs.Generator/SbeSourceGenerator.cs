using System.Text;
using Aivora.Codecs.Generator.Emit;
using Aivora.Codecs.Generator.Schema;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace Aivora.Codecs.Generator;

/// <summary>
/// Generates codecs from every SBE schema given to a project as an AdditionalFiles item whose
/// root element is messageSchema (other XML is ignored). Schema errors become build errors
/// SBE001–SBE011 at the offending element's line in the XML file.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed class SbeSourceGenerator : IIncrementalGenerator
{
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        var schemas = context.AdditionalTextsProvider
            .Where(file => file.Path.EndsWith(".xml", StringComparison.OrdinalIgnoreCase))
            .Select((file, cancellation) => (file.Path, Text: file.GetText(cancellation)?.ToString() ?? ""))
            .Where(file => file.Text.Contains("messageSchema"));

        context.RegisterSourceOutput(schemas, static (output, file) =>
        {
            var (schema, diagnostics) = SchemaParser.Parse(file.Text);
            foreach (var d in diagnostics)
            {
                var line = Math.Max(0, d.Where.Line - 1);
                var column = Math.Max(0, d.Where.Column - 1);
                var location = Location.Create(file.Path, default, new LinePositionSpan(new LinePosition(line, column), new LinePosition(line, column)));
                output.ReportDiagnostic(Diagnostic.Create(new DiagnosticDescriptor(d.Code, "SBE schema error", "{0}", "SBE", DiagnosticSeverity.Error, isEnabledByDefault: true), location, d.Message));
            }

            if (schema is null)
            {
                return;
            }

            var hintName = CSharpEmitter.NamespaceOf(schema.Package) + ".g.cs";
            output.AddSource(hintName, SourceText.From(CSharpEmitter.Emit(schema, file.Path), Encoding.UTF8));
        });
    }
}
