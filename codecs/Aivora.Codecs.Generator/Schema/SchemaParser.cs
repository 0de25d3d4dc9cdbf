using System.Globalization;
using System.Xml;
using System.Xml.Linq;

namespace Aivora.Codecs.Generator.Schema;

/// <summary>
/// Reads an SBE 1.0 XML schema into the model and lays it out (offsets, sizes, block lengths).
/// Never throws for a bad schema: every problem becomes a <see cref="SchemaDiagnostic"/> naming the
/// element and its line, and the schema is returned only when there are none.
/// </summary>
public sealed class SchemaParser
{
    private readonly List<SchemaDiagnostic> _diagnostics = new();
    private readonly Dictionary<string, XElement> _typeElements = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TypeDef> _types = new(StringComparer.Ordinal);
    private readonly HashSet<string> _resolving = new(StringComparer.Ordinal);

    private SchemaParser()
    {
    }

    public static (MessageSchema? Schema, IReadOnlyList<SchemaDiagnostic> Diagnostics) Parse(string xml)
    {
        var parser = new SchemaParser();
        var schema = parser.ParseDocument(xml);
        return (parser._diagnostics.Count == 0 ? schema : null, parser._diagnostics);
    }

    private MessageSchema? ParseDocument(string xml)
    {
        XDocument document;
        try
        {
            document = XDocument.Parse(xml, LoadOptions.SetLineInfo);
        }
        catch (XmlException e)
        {
            Error(SchemaErrors.Malformed, $"the schema is not well-formed XML: {e.Message}", new SourceLine(e.LineNumber, e.LinePosition));
            return null;
        }

        var root = document.Root!;
        if (root.Name.LocalName != "messageSchema")
        {
            Error(SchemaErrors.Malformed, $"the root element is <{root.Name.LocalName}>, expected <sbe:messageSchema>", Where(root));
            return null;
        }

        var package = Required(root, "package") ?? "sbe";
        var schemaId = ParseInt(root, "id", 0, 65535, required: true);
        var version = ParseInt(root, "version", 0, 65535, required: false);
        var byteOrder = Attr(root, "byteOrder") ?? "littleEndian";
        if (byteOrder != "littleEndian" && byteOrder != "bigEndian")
        {
            Error(SchemaErrors.InvalidAttribute, $"byteOrder '{byteOrder}' is neither littleEndian nor bigEndian", Where(root));
        }

        foreach (var types in Children(root, "types"))
        {
            foreach (var element in types.Elements())
            {
                var name = Required(element, "name");
                if (name is null)
                {
                    continue;
                }

                if (_typeElements.ContainsKey(name))
                {
                    Error(SchemaErrors.DuplicateName, $"type '{name}' is defined twice", Where(element));
                    continue;
                }

                _typeElements[name] = element;
            }
        }

        var typeDefs = new List<TypeDef>();
        foreach (var name in _typeElements.Keys)
        {
            var type = ResolveType(name, Where(_typeElements[name]));
            if (type is not null)
            {
                typeDefs.Add(type);
            }
        }

        var headerName = Attr(root, "headerType") ?? "messageHeader";
        var header = ResolveType(headerName, Where(root)) as CompositeType;
        if (header is null)
        {
            Error(SchemaErrors.InvalidComposite, $"header type '{headerName}' must be a composite", Where(root));
        }
        else
        {
            foreach (var member in new[] { "blockLength", "templateId", "schemaId", "version" })
            {
                RequireUnsignedMember(header, member, Where(root), "message header");
            }
        }

        var schema = new MessageSchema(package, schemaId, version, Attr(root, "semanticVersion"), byteOrder == "bigEndian", Attr(root, "description"),
            header ?? new CompositeType(headerName, null, 0, Where(root)));
        schema.Types.AddRange(typeDefs);

        var messageIds = new Dictionary<int, string>();
        foreach (var element in root.Elements().Where(e => e.Name.LocalName == "message"))
        {
            var message = new Message(Required(element, "name") ?? "?", ParseInt(element, "id", 0, 65535, required: true),
                OptionalInt(element, "blockLength"), ParseInt(element, "sinceVersion", 0, 65535, required: false), Attr(element, "description"), Where(element));
            if (messageIds.TryGetValue(message.Id, out var other))
            {
                Error(SchemaErrors.BadId, $"message '{message.Name}' reuses id {message.Id} of message '{other}'", Where(element));
            }

            messageIds[message.Id] = message.Name;
            ParseBlock(element, message);
            schema.Messages.Add(message);
        }

        if (schema.Messages.Count == 0)
        {
            Error(SchemaErrors.Malformed, "the schema defines no message", Where(root));
        }

        return schema;
    }

    // ---------------------------------------------------------------- messages and groups

    private void ParseBlock(XElement element, Block block)
    {
        var stage = 0; // 0 fields, 1 groups, 2 data
        var ids = new Dictionary<int, string>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var child in element.Elements())
        {
            var kind = child.Name.LocalName;
            var childStage = kind switch { "field" => 0, "group" => 1, "data" => 2, _ => -1 };
            if (childStage < 0)
            {
                Error(SchemaErrors.Malformed, $"<{kind}> is not allowed in <{element.Name.LocalName}> '{block.Name}'", Where(child));
                continue;
            }

            if (childStage < stage)
            {
                var what = kind == "field" ? "field node specified after group or data node" : "group node specified after data node";
                Error(SchemaErrors.ElementOrder, $"{what}: '{Attr(child, "name")}' in '{block.Name}' (fields, then groups, then var data)", Where(child));
            }

            stage = Math.Max(stage, childStage);
            var name = Required(child, "name") ?? "?";
            var id = ParseInt(child, "id", 0, 65535, required: true);
            if (!names.Add(name))
            {
                Error(SchemaErrors.DuplicateName, $"'{name}' appears twice in '{block.Name}'", Where(child));
            }

            if (ids.TryGetValue(id, out var holder))
            {
                Error(SchemaErrors.BadId, $"'{name}' reuses id {id} of '{holder}' in '{block.Name}'", Where(child));
            }

            ids[id] = name;
            var sinceVersion = ParseInt(child, "sinceVersion", 0, 65535, required: false);
            switch (kind)
            {
                case "field":
                    var field = ParseField(child, name, id, sinceVersion);
                    if (field is not null)
                    {
                        block.Fields.Add(field);
                    }

                    break;
                case "group":
                    var dimensionName = Attr(child, "dimensionType") ?? "groupSizeEncoding";
                    var dimension = ResolveType(dimensionName, Where(child)) as CompositeType;
                    if (dimension is null)
                    {
                        Error(SchemaErrors.InvalidComposite, $"group '{name}': dimension type '{dimensionName}' must be a composite", Where(child));
                        continue;
                    }

                    RequireUnsignedMember(dimension, "blockLength", Where(child), $"group '{name}' dimension");
                    RequireUnsignedMember(dimension, "numInGroup", Where(child), $"group '{name}' dimension");
                    var group = new Group(name, id, dimension, OptionalInt(child, "blockLength"), sinceVersion, Attr(child, "description"), Where(child));
                    ParseBlock(child, group);
                    block.Groups.Add(group);
                    break;
                default:
                    var typeName = Required(child, "type") ?? "?";
                    if (ResolveType(typeName, Where(child)) is not CompositeType varType)
                    {
                        Error(SchemaErrors.InvalidComposite, $"data '{name}': type '{typeName}' must be a composite of 'length' and 'varData'", Where(child));
                        continue;
                    }

                    if (!IsVarDataComposite(varType))
                    {
                        Error(SchemaErrors.InvalidComposite, $"data '{name}': composite '{typeName}' needs an unsigned 'length' (uint8/16/32) and a 'varData' of uint8 or char with length 0", Where(child));
                        continue;
                    }

                    block.Data.Add(new VarData(name, id, varType, sinceVersion, Attr(child, "description"), Where(child)));
                    break;
            }
        }

        LayOut(block, element);
    }

    private static bool IsVarDataComposite(CompositeType type) =>
        type.Member("length")?.Type is EncodedType { Primitive: Primitive.UInt8 or Primitive.UInt16 or Primitive.UInt32, Length: 1 } &&
        type.Member("varData")?.Type is EncodedType { Primitive: Primitive.UInt8 or Primitive.Char, Length: 0 };

    private Field? ParseField(XElement element, string name, int id, int sinceVersion)
    {
        var typeName = Required(element, "type");
        if (typeName is null)
        {
            return null;
        }

        var type = ResolveType(typeName, Where(element));
        if (type is null)
        {
            return null;
        }

        if (type is CompositeType composite && composite.Members.Any(m => m.Type is EncodedType { Length: 0 }))
        {
            Error(SchemaErrors.InvalidComposite, $"field '{name}': composite '{typeName}' has a variable-length member; use <data> for it", Where(element));
        }

        var presence = ParsePresence(element, type switch
        {
            EncodedType e => e.Presence,
            EnumType e => e.Presence,
            _ => Presence.Required,
        });
        var valueRef = Attr(element, "valueRef");
        if (presence == Presence.Constant)
        {
            if (type is EnumType enumType)
            {
                var valueName = valueRef?.Split('.').LastOrDefault();
                if (valueRef is null || enumType.Values.All(v => v.Name != valueName))
                {
                    Error(SchemaErrors.InvalidValue, $"constant field '{name}' needs valueRef=\"{enumType.Name}.Value\" naming one of its values", Where(element));
                }
            }
            else if (type is not EncodedType { Presence: Presence.Constant } && type is not EncodedType)
            {
                Error(SchemaErrors.InvalidValue, $"constant field '{name}' must be of an enum or a constant type", Where(element));
            }
            else if (type is EncodedType { Presence: not Presence.Constant } && valueRef is null)
            {
                Error(SchemaErrors.InvalidValue, $"constant field '{name}' has no value: use a constant type or a valueRef", Where(element));
            }
        }

        if (type is SetType or CompositeType && presence == Presence.Optional)
        {
            // Sets have no null; optional composites are expressed by their members. Accept, as the tool does.
            presence = Presence.Required;
        }

        var field = new Field(name, id, type, presence, valueRef, sinceVersion, Attr(element, "description"), Where(element));
        var offset = OptionalInt(element, "offset");
        field.Offset = offset ?? -1;
        return field;
    }

    private void LayOut(Block block, XElement element)
    {
        var running = 0;
        foreach (var field in block.Fields)
        {
            if (field.Offset >= 0)
            {
                if (field.Offset < running)
                {
                    Error(SchemaErrors.OverlappingOffset, $"field '{field.Name}' offset {field.Offset} overlaps the previous field, which ends at {running} (offset provides insufficient space)", field.Where);
                }
                else
                {
                    running = field.Offset;
                }
            }

            field.Offset = running;
            running += field.Size;
        }

        block.BlockLength = running;
        if (block.DeclaredBlockLength is { } declared)
        {
            if (declared < running)
            {
                Error(SchemaErrors.BlockLengthTooSmall, $"'{block.Name}' declares blockLength {declared} but its fields need {running} bytes", Where(element));
            }
            else
            {
                block.BlockLength = declared;
            }
        }
    }

    // ---------------------------------------------------------------- types

    private TypeDef? ResolveType(string name, SourceLine usedAt)
    {
        if (_types.TryGetValue(name, out var known))
        {
            return known;
        }

        if (!_typeElements.TryGetValue(name, out var element))
        {
            if (Primitives.TryParse(name, out var primitive))
            {
                var builtIn = new EncodedType(name, primitive, 1, Presence.Required, null, null, null, null, null, null, 0, null, usedAt);
                _types[name] = builtIn;
                return builtIn;
            }

            Error(SchemaErrors.UnknownType, $"unknown type '{name}'", usedAt);
            return null;
        }

        if (!_resolving.Add(name))
        {
            Error(SchemaErrors.InvalidComposite, $"type '{name}' refers to itself", Where(element));
            return null;
        }

        var type = ParseTypeElement(element, name);
        _resolving.Remove(name);
        if (type is not null)
        {
            _types[name] = type;
        }

        return type;
    }

    private TypeDef? ParseTypeElement(XElement element, string name)
    {
        var description = Attr(element, "description");
        var sinceVersion = ParseInt(element, "sinceVersion", 0, 65535, required: false);
        var offset = OptionalInt(element, "offset");
        switch (element.Name.LocalName)
        {
            case "type":
                return ParseEncodedType(element, name, description, sinceVersion, offset);
            case "enum":
                var enumEncoding = ParseEncoding(element, name, allowed: new[] { Primitive.Char, Primitive.UInt8, Primitive.Int8, Primitive.UInt16, Primitive.Int16, Primitive.UInt32, Primitive.Int32, Primitive.UInt64, Primitive.Int64 });
                var enumType = new EnumType(name, enumEncoding, ParsePresence(element, Presence.Required), description, sinceVersion, offset, Where(element));
                var seen = new HashSet<string>(StringComparer.Ordinal);
                foreach (var value in element.Elements().Where(e => e.Name.LocalName == "validValue"))
                {
                    var valueName = Required(value, "name") ?? "?";
                    var literal = value.Value.Trim();
                    var valid = enumEncoding == Primitive.Char
                        ? literal.Length == 1 && literal[0] >= 0x20 && literal[0] <= 0x7e
                        : long.TryParse(literal, NumberStyles.Integer, CultureInfo.InvariantCulture, out var number) && FitsEncoding(number, enumEncoding);
                    if (!valid)
                    {
                        Error(SchemaErrors.InvalidValue, $"enum '{name}' value '{valueName}' = '{literal}' does not fit its {enumEncoding} encoding", Where(value));
                    }

                    if (!seen.Add(valueName))
                    {
                        Error(SchemaErrors.DuplicateName, $"enum '{name}' defines '{valueName}' twice", Where(value));
                    }

                    enumType.Values.Add(new EnumValue(valueName, literal, Attr(value, "description"), ParseInt(value, "sinceVersion", 0, 65535, required: false)));
                }

                return enumType;
            case "set":
                var setEncoding = ParseEncoding(element, name, allowed: new[] { Primitive.UInt8, Primitive.UInt16, Primitive.UInt32, Primitive.UInt64 });
                var setType = new SetType(name, setEncoding, description, sinceVersion, offset, Where(element));
                foreach (var choice in element.Elements().Where(e => e.Name.LocalName == "choice"))
                {
                    var choiceName = Required(choice, "name") ?? "?";
                    if (!int.TryParse(choice.Value.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var bit) || bit < 0 || bit >= Primitives.SizeOf(setEncoding) * 8)
                    {
                        Error(SchemaErrors.InvalidValue, $"set '{name}' choice '{choiceName}' bit '{choice.Value.Trim()}' is outside its {setEncoding} encoding", Where(choice));
                        continue;
                    }

                    setType.Choices.Add(new SetChoice(choiceName, bit, Attr(choice, "description")));
                }

                return setType;
            case "composite":
                return ParseComposite(element, name, description, sinceVersion);
            default:
                Error(SchemaErrors.Malformed, $"<{element.Name.LocalName}> is not a type definition", Where(element));
                return null;
        }
    }

    private EncodedType? ParseEncodedType(XElement element, string name, string? description, int sinceVersion, int? offset)
    {
        var primitiveName = Required(element, "primitiveType");
        if (primitiveName is null)
        {
            return null;
        }

        if (!Primitives.TryParse(primitiveName, out var primitive))
        {
            Error(SchemaErrors.InvalidAttribute, $"type '{name}': primitiveType '{primitiveName}' is not an SBE primitive", Where(element));
            return null;
        }

        var length = ParseInt(element, "length", 0, 65535, required: false, defaultValue: 1);
        var presence = ParsePresence(element, Presence.Required);
        var constant = presence == Presence.Constant ? element.Value.Trim() : null;
        if (presence == Presence.Constant && string.IsNullOrEmpty(constant) && Attr(element, "valueRef") is null)
        {
            Error(SchemaErrors.InvalidValue, $"constant type '{name}' has no value", Where(element));
        }

        return new EncodedType(name, primitive, length, presence, Attr(element, "nullValue"), Attr(element, "minValue"), Attr(element, "maxValue"),
            Attr(element, "characterEncoding"), constant, description, sinceVersion, offset, Where(element));
    }

    private CompositeType ParseComposite(XElement element, string name, string? description, int sinceVersion)
    {
        var composite = new CompositeType(name, description, sinceVersion, Where(element));
        var running = 0;
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var child in element.Elements())
        {
            var memberName = Required(child, "name") ?? "?";
            if (!names.Add(memberName))
            {
                Error(SchemaErrors.DuplicateName, $"composite '{name}' has two members named '{memberName}'", Where(child));
            }

            TypeDef? type = child.Name.LocalName == "ref"
                ? ResolveType(Required(child, "type") ?? "?", Where(child))
                : ParseTypeElement(child, memberName);
            if (type is null)
            {
                continue;
            }

            var explicitOffset = OptionalInt(child, "offset");
            if (explicitOffset is { } at)
            {
                if (at < running)
                {
                    Error(SchemaErrors.OverlappingOffset, $"composite '{name}' member '{memberName}' offset {at} overlaps the previous member, which ends at {running}", Where(child));
                }
                else
                {
                    running = at;
                }
            }

            composite.Members.Add(new CompositeMember(memberName, type, running));
            running += type.Size;
        }

        composite.ComputedSize = running;
        return composite;
    }

    private Primitive ParseEncoding(XElement element, string name, Primitive[] allowed)
    {
        var encoding = Required(element, "encodingType") ?? "uint8";
        if (!Primitives.TryParse(encoding, out var primitive))
        {
            // An encoding may name a <type>: use its primitive.
            if (ResolveType(encoding, Where(element)) is EncodedType { Length: 1 } encoded)
            {
                primitive = encoded.Primitive;
            }
            else
            {
                Error(SchemaErrors.InvalidAttribute, $"'{name}': encodingType '{encoding}' is neither a primitive nor a scalar type", Where(element));
                return Primitive.UInt8;
            }
        }

        if (Array.IndexOf(allowed, primitive) < 0)
        {
            Error(SchemaErrors.InvalidAttribute, $"'{name}': encodingType '{encoding}' is not allowed here", Where(element));
        }

        return primitive;
    }

    private static bool FitsEncoding(long value, Primitive encoding) => encoding switch
    {
        Primitive.UInt8 => value >= 0 && value < byte.MaxValue,
        Primitive.Int8 => value > sbyte.MinValue && value <= sbyte.MaxValue,
        Primitive.UInt16 => value >= 0 && value < ushort.MaxValue,
        Primitive.Int16 => value > short.MinValue && value <= short.MaxValue,
        Primitive.UInt32 => value >= 0 && value < uint.MaxValue,
        Primitive.Int32 => value > int.MinValue && value <= int.MaxValue,
        Primitive.Int64 => value > long.MinValue,
        _ => value >= 0,
    };

    private void RequireUnsignedMember(CompositeType composite, string member, SourceLine where, string what)
    {
        if (composite.Member(member)?.Type is not EncodedType { Length: 1 } encoded || !Primitives.IsUnsigned(encoded.Primitive) || encoded.Primitive == Primitive.Char)
        {
            Error(SchemaErrors.InvalidComposite, $"{what} '{composite.Name}' needs an unsigned integer member '{member}'", where);
        }
    }

    // ---------------------------------------------------------------- attributes

    private Presence ParsePresence(XElement element, Presence fallback)
    {
        var text = Attr(element, "presence");
        switch (text)
        {
            case null: return fallback;
            case "required": return Presence.Required;
            case "optional": return Presence.Optional;
            case "constant": return Presence.Constant;
            default:
                Error(SchemaErrors.InvalidAttribute, $"presence '{text}' is not required, optional or constant", Where(element));
                return fallback;
        }
    }

    private int ParseInt(XElement element, string attribute, int min, int max, bool required, int defaultValue = 0)
    {
        var text = Attr(element, attribute);
        if (text is null)
        {
            if (required)
            {
                Error(attribute == "id" ? SchemaErrors.BadId : SchemaErrors.MissingAttribute, $"<{element.Name.LocalName} name=\"{Attr(element, "name")}\"> has no {attribute}", Where(element));
            }

            return defaultValue;
        }

        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            Error(attribute == "id" ? SchemaErrors.BadId : SchemaErrors.InvalidAttribute,
                $"<{element.Name.LocalName} name=\"{Attr(element, "name")}\"> {attribute}=\"{text}\" is not a whole number from {min} to {max}", Where(element));
            return defaultValue;
        }

        return value;
    }

    private int? OptionalInt(XElement element, string attribute) =>
        Attr(element, attribute) is null ? null : ParseInt(element, attribute, 0, 65535, required: false);

    private string? Required(XElement element, string attribute)
    {
        var value = Attr(element, attribute);
        if (value is null)
        {
            Error(SchemaErrors.MissingAttribute, $"<{element.Name.LocalName}> needs a {attribute} attribute", Where(element));
        }
        else if (attribute is "name" or "type" && !IsSymbolicName(value))
        {
            // The SBE 1.0 XSD's symbolicName_t: what every code generator can turn into an identifier.
            Error(SchemaErrors.InvalidAttribute, $"<{element.Name.LocalName}> {attribute}=\"{value}\" is not a symbolic name ([A-Za-z_][A-Za-z0-9_]*, at most 64 characters)", Where(element));
        }

        return value;
    }

    private static bool IsSymbolicName(string text) =>
        text.Length is > 0 and <= 64 &&
        (char.IsLetter(text[0]) || text[0] == '_') && text[0] < 128 &&
        text.All(c => c < 128 && (char.IsLetterOrDigit(c) || c == '_'));

    private static string? Attr(XElement element, string name) => element.Attribute(name)?.Value;

    private static IEnumerable<XElement> Children(XElement element, string localName) => element.Elements().Where(e => e.Name.LocalName == localName);

    private static SourceLine Where(XObject node) => node is IXmlLineInfo info && info.HasLineInfo() ? new SourceLine(info.LineNumber, info.LinePosition) : new SourceLine(1, 1);

    private void Error(string code, string message, SourceLine where) => _diagnostics.Add(new SchemaDiagnostic(code, message, where));
}
