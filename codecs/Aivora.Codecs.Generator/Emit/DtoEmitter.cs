using Aivora.Codecs.Generator.Schema;

namespace Aivora.Codecs.Generator.Emit;

/// <summary>
/// Emits a DTO class per message, group and composite: plain properties (nullable for optional
/// fields, lists for groups, byte arrays for var data) with <c>EncodeInto</c> and <c>TryDecode</c>
/// built on the flyweights. For tools, tests and cold paths; the hot path uses the flyweights.
/// </summary>
internal sealed class DtoEmitter
{
    private readonly CodeWriter _w;
    private readonly string _namespace;

    public DtoEmitter(CodeWriter writer, string ns)
    {
        _w = writer;
        _namespace = ns;
    }

    private string Qualified(string typeName) => $"global::{_namespace}.{CSharpEmitter.Pascal(typeName)}";

    public void EmitComposite(CompositeType c)
    {
        var name = CSharpEmitter.Pascal(c.Name) + "Dto";
        _w.Doc(c.Description)
          .Open($"public sealed class {name}");
        foreach (var m in c.Members)
        {
            EmitProperty(CSharpEmitter.Pascal(m.Name), m.Type, Presence(m.Type));
        }

        _w.Line()
          .Open($"public void WriteTo({Qualified(c.Name)}Encoder e)");
        foreach (var m in c.Members)
        {
            EmitWrite(CSharpEmitter.Pascal(m.Name), m.Type, Presence(m.Type), $"{Qualified(c.Name)}Encoder");
        }

        _w.Close()
          .Line()
          .Open($"public static {name} ReadFrom({Qualified(c.Name)}Decoder d)")
          .Line($"var dto = new {name}();");
        foreach (var m in c.Members)
        {
            EmitRead(CSharpEmitter.Pascal(m.Name), m.Type, Presence(m.Type), gated: false);
        }

        _w.Line("return dto;")
          .Close()
          .Close()
          .Line();
    }

    public void EmitMessage(Message m)
    {
        var name = CSharpEmitter.Pascal(m.Name) + "Dto";
        var encoder = CSharpEmitter.Pascal(m.Name) + "Encoder";
        var decoder = CSharpEmitter.Pascal(m.Name) + "Decoder";
        _w.Doc(m.Description, $"{m.Name} as a plain object.")
          .Open($"public sealed class {name}");
        EmitBlockProperties(m);
        _w.Line()
          .Doc("Encodes into buffer (header included) and returns the length written.")
          .Open("public int EncodeInto(Span<byte> buffer)")
          .Line($"var e = {encoder}.Wrap(buffer);")
          .Line("WriteTo(ref e);")
          .Line("return e.EncodedLength;")
          .Close()
          .Line()
          .Doc("Decodes a whole message; null with the reason when the bytes are not a valid message of this type.")
          .Open($"public static SbeDecodeResult TryDecode(ReadOnlySpan<byte> buffer, out {name}? dto)")
          .Line("dto = null;")
          .Line($"var result = {decoder}.TryWrap(buffer, out var d);")
          .Open("if (result == SbeDecodeResult.Ok)")
          .Line("dto = ReadFrom(ref d);")
          .Close()
          .Line()
          .Line("return result;")
          .Close()
          .Line()
          .Doc("Checks a frame (header, block, every group entry and var data) without decoding it into objects.")
          .Line($"public static SbeDecodeResult Validate(ReadOnlySpan<byte> buffer) => {decoder}.TryWrap(buffer, out _);");
        EmitBlockCodec(m, name, encoder, decoder);
        _w.Close()
          .Line();
    }

    private void EmitGroup(Group g, string encoder, string decoder)
    {
        var name = CSharpEmitter.Pascal(g.Name) + "GroupDto";
        _w.Line()
          .Doc(g.Description)
          .Open($"public sealed class {name}");
        EmitBlockProperties(g);
        EmitBlockCodec(g, name, encoder, decoder);
        _w.Close();
    }

    private void EmitBlockProperties(Block block)
    {
        foreach (var f in block.Fields.Where(f => !IsConstant(f)))
        {
            EmitProperty(CSharpEmitter.Pascal(f.Name), f.Type, f.Presence);
        }

        foreach (var g in block.Groups)
        {
            var type = CSharpEmitter.Pascal(g.Name) + "GroupDto";
            _w.Line($"public List<{type}> {CSharpEmitter.Pascal(g.Name)} {{ get; set; }} = new();");
        }

        foreach (var d in block.Data)
        {
            _w.Line($"public byte[] {CSharpEmitter.Pascal(d.Name)} {{ get; set; }} = Array.Empty<byte>();");
        }
    }

    private void EmitBlockCodec(Block block, string name, string encoder, string decoder)
    {
        _w.Line()
          .Open($"public void WriteTo(ref {encoder} e)");
        foreach (var f in block.Fields.Where(f => !IsConstant(f)))
        {
            EmitWrite(CSharpEmitter.Pascal(f.Name), f.Type, f.Presence, encoder);
        }

        foreach (var g in block.Groups)
        {
            var property = CSharpEmitter.Pascal(g.Name);
            _w.Line($"var {Local(g.Name)} = e.{property}({property}.Count);")
              .Open($"foreach (var item in {property})")
              .Line($"{Local(g.Name)}.Next();")
              .Line($"item.WriteTo(ref {Local(g.Name)});")
              .Close();
        }

        foreach (var d in block.Data)
        {
            _w.Line($"e.{CSharpEmitter.Pascal(d.Name)}({CSharpEmitter.Pascal(d.Name)});");
        }

        _w.Close()
          .Line()
          .Open($"public static {name} ReadFrom(ref {decoder} d)")
          .Line($"var dto = new {name}();");
        foreach (var f in block.Fields.Where(f => !IsConstant(f)))
        {
            EmitRead(CSharpEmitter.Pascal(f.Name), f.Type, f.Presence, gated: f.SinceVersion > 0);
        }

        foreach (var g in block.Groups)
        {
            var property = CSharpEmitter.Pascal(g.Name);
            _w.Line($"var {Local(g.Name)} = d.{property}();")
              .Open($"while ({Local(g.Name)}.Next())")
              .Line($"dto.{property}.Add({property}GroupDto.ReadFrom(ref {Local(g.Name)}));")
              .Close();
        }

        foreach (var d in block.Data)
        {
            _w.Line($"dto.{CSharpEmitter.Pascal(d.Name)} = d.{CSharpEmitter.Pascal(d.Name)}().ToArray();");
        }

        _w.Line("return dto;")
          .Close();

        foreach (var g in block.Groups)
        {
            EmitGroup(g, $"{encoder}.{CSharpEmitter.Pascal(g.Name)}GroupEncoder", $"{decoder}.{CSharpEmitter.Pascal(g.Name)}GroupDecoder");
        }
    }

    private void EmitProperty(string name, TypeDef type, Presence presence)
    {
        switch (type)
        {
            case EncodedType t when t.Presence == Schema.Presence.Constant || presence == Schema.Presence.Constant:
                break;
            case EncodedType t when t.Length == 1:
                var cs = Primitives.CSharp(t.Primitive);
                _w.Line($"public {cs}{(presence == Schema.Presence.Optional ? "?" : "")} {name} {{ get; set; }}");
                break;
            case EncodedType t when t.Primitive == Primitive.Char:
                _w.Line($"public string {name} {{ get; set; }} = \"\";");
                break;
            case EncodedType t:
                _w.Line($"public {Primitives.CSharp(t.Primitive)}[] {name} {{ get; set; }} = new {Primitives.CSharp(t.Primitive)}[{t.Length}];");
                break;
            case EnumType e when presence == Schema.Presence.Constant:
                break;
            case EnumType e:
                _w.Line($"public {Qualified(e.Name)} {name} {{ get; set; }}{(presence == Schema.Presence.Optional ? $" = {Qualified(e.Name)}.NullValue;" : "")}");
                break;
            case SetType s:
                _w.Line($"public {Qualified(s.Name)} {name} {{ get; set; }}");
                break;
            case CompositeType c:
                _w.Line($"public {Qualified(c.Name)}Dto {name} {{ get; set; }} = new();");
                break;
        }
    }

    private void EmitWrite(string name, TypeDef type, Presence presence, string encoderType)
    {
        switch (type)
        {
            case EncodedType t when t.Presence == Schema.Presence.Constant || presence == Schema.Presence.Constant:
                break;
            case EncodedType t when t.Length == 1:
                _w.Line(presence == Schema.Presence.Optional ? $"e.{name}({name} ?? {encoderType}.{name}NullValue);" : $"e.{name}({name});");
                break;
            case EncodedType t when t.Primitive == Primitive.Char:
                _w.Line($"e.{name}({name});");
                break;
            case EncodedType t:
                _w.Open($"if ({name}.Length != {t.Length})")
                  .Line($"throw new ArgumentException(\"{name} must have exactly {t.Length} elements\");")
                  .Close()
                  .Line($"for (var i = 0; i < {t.Length}; i++) e.{name}(i, {name}[i]);");
                break;
            case EnumType when presence == Schema.Presence.Constant:
                break;
            case EnumType:
            case SetType:
                _w.Line($"e.{name}({name});");
                break;
            case CompositeType:
                _w.Line($"{name}.WriteTo(e.{name});");
                break;
        }
    }

    private void EmitRead(string name, TypeDef type, Presence presence, bool gated)
    {
        switch (type)
        {
            case EncodedType t when t.Presence == Schema.Presence.Constant || presence == Schema.Presence.Constant:
                break;
            case EncodedType t when t.Length == 1:
                _w.Line(presence == Schema.Presence.Optional ? $"dto.{name} = d.{name}IsNull ? null : d.{name};" : $"dto.{name} = d.{name};");
                break;
            case EncodedType t when t.Primitive == Primitive.Char:
                _w.Line($"dto.{name} = d.{name}AsString();");
                break;
            case EncodedType t:
                _w.Line($"for (var i = 0; i < {t.Length}; i++) dto.{name}[i] = d.Get{name}(i);");
                break;
            case EnumType when presence == Schema.Presence.Constant:
                break;
            case EnumType:
            case SetType:
                _w.Line($"dto.{name} = d.{name};");
                break;
            case CompositeType c:
                _w.Line(gated
                    ? $"if (d.{name}InActingVersion) dto.{name} = {Qualified(c.Name)}Dto.ReadFrom(d.{name});"
                    : $"dto.{name} = {Qualified(c.Name)}Dto.ReadFrom(d.{name});");
                break;
        }
    }

    private static bool IsConstant(Field f) =>
        f.Presence == Schema.Presence.Constant || f.Type is EncodedType { Presence: Schema.Presence.Constant };

    private static Presence Presence(TypeDef type) => type switch
    {
        EncodedType t => t.Presence,
        EnumType e => e.Presence,
        _ => Schema.Presence.Required,
    };

    private static string Local(string groupName) => "group" + CSharpEmitter.Pascal(groupName);
}
