using System.Text;

namespace Aivora.Codecs.Generator.Emit;

/// <summary>An indenting text builder for generated C#.</summary>
internal sealed class CodeWriter
{
    private readonly StringBuilder _text = new();
    private int _indent;

    public CodeWriter Line(string line = "")
    {
        if (line.Length == 0)
        {
            _text.Append('\n');
            return this;
        }

        _text.Append(' ', _indent * 4).Append(line).Append('\n');
        return this;
    }

    public CodeWriter Open(string line)
    {
        Line(line);
        Line("{");
        _indent++;
        return this;
    }

    public CodeWriter Close(string suffix = "")
    {
        _indent--;
        Line("}" + suffix);
        return this;
    }

    /// <summary>An XML doc summary from a schema description (escaped), or nothing.</summary>
    public CodeWriter Doc(string? description, string? fallback = null)
    {
        var text = description ?? fallback;
        if (string.IsNullOrWhiteSpace(text))
        {
            return this;
        }

        var escaped = text!.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;");
        Line("/// <summary>");
        foreach (var part in escaped.Split('\n'))
        {
            Line("/// " + part.Trim());
        }

        Line("/// </summary>");
        return this;
    }

    public override string ToString() => _text.ToString();
}
