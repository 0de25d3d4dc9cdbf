namespace Aivora.Codecs.Generator.Schema;

/// <summary>A schema error, with where it is: reported at build time as SBE0nn with file, line and element.</summary>
public sealed class SchemaDiagnostic
{
    public SchemaDiagnostic(string code, string message, SourceLine where)
    {
        Code = code;
        Message = message;
        Where = where;
    }

    public string Code { get; }

    public string Message { get; }

    public SourceLine Where { get; }

    public override string ToString() => $"({Where.Line},{Where.Column}): error {Code}: {Message}";
}

public static class SchemaErrors
{
    public const string Malformed = "SBE001";
    public const string UnknownType = "SBE002";
    public const string OverlappingOffset = "SBE003";
    public const string BadId = "SBE004";
    public const string BlockLengthTooSmall = "SBE005";
    public const string ElementOrder = "SBE006";
    public const string InvalidAttribute = "SBE007";
    public const string MissingAttribute = "SBE008";
    public const string DuplicateName = "SBE009";
    public const string InvalidComposite = "SBE010";
    public const string InvalidValue = "SBE011";
}
