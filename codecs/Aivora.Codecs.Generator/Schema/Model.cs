namespace Aivora.Codecs.Generator.Schema;

public enum Primitive
{
    Char,
    Int8,
    UInt8,
    Int16,
    UInt16,
    Int32,
    UInt32,
    Int64,
    UInt64,
    Float,
    Double,
}

public enum Presence
{
    Required,
    Optional,
    Constant,
}

/// <summary>Where an element stands in its schema file, for diagnostics.</summary>
public readonly struct SourceLine
{
    public SourceLine(int line, int column)
    {
        Line = line;
        Column = column;
    }

    public int Line { get; }

    public int Column { get; }
}

/// <summary>Any named type of the schema: an encoded primitive (or array of one), a composite, an enum or a set.</summary>
public abstract class TypeDef
{
    protected TypeDef(string name, string? description, int sinceVersion, SourceLine where)
    {
        Name = name;
        Description = description;
        SinceVersion = sinceVersion;
        Where = where;
    }

    public string Name { get; }

    public string? Description { get; }

    public int SinceVersion { get; }

    public SourceLine Where { get; }

    /// <summary>Bytes on the wire (0 for a constant).</summary>
    public abstract int Size { get; }
}

public sealed class EncodedType : TypeDef
{
    public EncodedType(string name, Primitive primitive, int length, Presence presence, string? nullValue, string? minValue, string? maxValue,
        string? characterEncoding, string? constantValue, string? description, int sinceVersion, int? offset, SourceLine where)
        : base(name, description, sinceVersion, where)
    {
        Primitive = primitive;
        Length = length;
        Presence = presence;
        NullValue = nullValue;
        MinValue = minValue;
        MaxValue = maxValue;
        CharacterEncoding = characterEncoding;
        ConstantValue = constantValue;
        Offset = offset;
    }

    public Primitive Primitive { get; }

    /// <summary>Array length (1 for a scalar; 0 for var data's payload).</summary>
    public int Length { get; }

    public Presence Presence { get; }

    public string? NullValue { get; }

    public string? MinValue { get; }

    public string? MaxValue { get; }

    public string? CharacterEncoding { get; }

    public string? ConstantValue { get; }

    /// <summary>Explicit offset inside a composite, if given.</summary>
    public int? Offset { get; }

    /// <summary>A fixed array (length above 1); a char array is a string field.</summary>
    public bool IsArray => Length > 1;

    public override int Size => Presence == Presence.Constant ? 0 : Primitives.SizeOf(Primitive) * Length;
}

public sealed class CompositeMember
{
    public CompositeMember(string name, TypeDef type, int offset)
    {
        Name = name;
        Type = type;
        Offset = offset;
    }

    public string Name { get; }

    public TypeDef Type { get; }

    public int Offset { get; }
}

public sealed class CompositeType : TypeDef
{
    public CompositeType(string name, string? description, int sinceVersion, SourceLine where)
        : base(name, description, sinceVersion, where)
    {
    }

    public List<CompositeMember> Members { get; } = new();

    public int ComputedSize { get; set; }

    public override int Size => ComputedSize;

    public CompositeMember? Member(string name) => Members.FirstOrDefault(m => m.Name == name);
}

public sealed class EnumValue
{
    public EnumValue(string name, string literal, string? description, int sinceVersion)
    {
        Name = name;
        Literal = literal;
        Description = description;
        SinceVersion = sinceVersion;
    }

    public string Name { get; }

    /// <summary>The value as written: a number, or a single character for char-encoded enums.</summary>
    public string Literal { get; }

    public string? Description { get; }

    public int SinceVersion { get; }
}

public sealed class EnumType : TypeDef
{
    public EnumType(string name, Primitive encoding, Presence presence, string? description, int sinceVersion, int? offset, SourceLine where)
        : base(name, description, sinceVersion, where)
    {
        Encoding = encoding;
        Presence = presence;
        Offset = offset;
    }

    public Primitive Encoding { get; }

    public Presence Presence { get; }

    public int? Offset { get; }

    public List<EnumValue> Values { get; } = new();

    public override int Size => Primitives.SizeOf(Encoding);
}

public sealed class SetChoice
{
    public SetChoice(string name, int bit, string? description)
    {
        Name = name;
        Bit = bit;
        Description = description;
    }

    public string Name { get; }

    public int Bit { get; }

    public string? Description { get; }
}

public sealed class SetType : TypeDef
{
    public SetType(string name, Primitive encoding, string? description, int sinceVersion, int? offset, SourceLine where)
        : base(name, description, sinceVersion, where)
    {
        Encoding = encoding;
        Offset = offset;
    }

    public Primitive Encoding { get; }

    public int? Offset { get; }

    public List<SetChoice> Choices { get; } = new();

    public override int Size => Primitives.SizeOf(Encoding);
}

public sealed class Field
{
    public Field(string name, int id, TypeDef type, Presence presence, string? valueRef, int sinceVersion, string? description, SourceLine where)
    {
        Name = name;
        Id = id;
        Type = type;
        Presence = presence;
        ValueRef = valueRef;
        SinceVersion = sinceVersion;
        Description = description;
        Where = where;
    }

    public string Name { get; }

    public int Id { get; }

    public TypeDef Type { get; }

    /// <summary>The field's own presence (a field may make a type optional or constant).</summary>
    public Presence Presence { get; }

    /// <summary>For a constant field: "EnumName.Value" or a type's constant.</summary>
    public string? ValueRef { get; }

    public int SinceVersion { get; }

    public string? Description { get; }

    public SourceLine Where { get; }

    public int Offset { get; set; }

    public int Size => Presence == Presence.Constant ? 0 : Type.Size;
}

public sealed class VarData
{
    public VarData(string name, int id, CompositeType type, int sinceVersion, string? description, SourceLine where)
    {
        Name = name;
        Id = id;
        Type = type;
        SinceVersion = sinceVersion;
        Description = description;
        Where = where;
    }

    public string Name { get; }

    public int Id { get; }

    public CompositeType Type { get; }

    public int SinceVersion { get; }

    public string? Description { get; }

    public SourceLine Where { get; }

    public EncodedType LengthType => (EncodedType)Type.Member("length")!.Type;

    public EncodedType DataType => (EncodedType)Type.Member("varData")!.Type;
}

/// <summary>A message or a group: a fixed block, then groups, then var data, in that order.</summary>
public abstract class Block
{
    protected Block(string name, int id, int? declaredBlockLength, int sinceVersion, string? description, SourceLine where)
    {
        Name = name;
        Id = id;
        DeclaredBlockLength = declaredBlockLength;
        SinceVersion = sinceVersion;
        Description = description;
        Where = where;
    }

    public string Name { get; }

    public int Id { get; }

    public int? DeclaredBlockLength { get; }

    public int SinceVersion { get; }

    public string? Description { get; }

    public SourceLine Where { get; }

    public List<Field> Fields { get; } = new();

    public List<Group> Groups { get; } = new();

    public List<VarData> Data { get; } = new();

    public int BlockLength { get; set; }
}

public sealed class Group : Block
{
    public Group(string name, int id, CompositeType dimension, int? declaredBlockLength, int sinceVersion, string? description, SourceLine where)
        : base(name, id, declaredBlockLength, sinceVersion, description, where)
    {
        Dimension = dimension;
    }

    public CompositeType Dimension { get; }
}

public sealed class Message : Block
{
    public Message(string name, int id, int? declaredBlockLength, int sinceVersion, string? description, SourceLine where)
        : base(name, id, declaredBlockLength, sinceVersion, description, where)
    {
    }
}

public sealed class MessageSchema
{
    public MessageSchema(string package, int id, int version, string? semanticVersion, bool bigEndian, string? description, CompositeType header)
    {
        Package = package;
        Id = id;
        Version = version;
        SemanticVersion = semanticVersion;
        BigEndian = bigEndian;
        Description = description;
        Header = header;
    }

    public string Package { get; }

    public int Id { get; }

    public int Version { get; }

    public string? SemanticVersion { get; }

    public bool BigEndian { get; }

    public string? Description { get; }

    public CompositeType Header { get; }

    public List<TypeDef> Types { get; } = new();

    public List<Message> Messages { get; } = new();
}

public static class Primitives
{
    public static int SizeOf(Primitive p) => p switch
    {
        Primitive.Char or Primitive.Int8 or Primitive.UInt8 => 1,
        Primitive.Int16 or Primitive.UInt16 => 2,
        Primitive.Int32 or Primitive.UInt32 or Primitive.Float => 4,
        _ => 8,
    };

    public static bool TryParse(string text, out Primitive primitive)
    {
        switch (text)
        {
            case "char": primitive = Primitive.Char; return true;
            case "int8": primitive = Primitive.Int8; return true;
            case "uint8": primitive = Primitive.UInt8; return true;
            case "int16": primitive = Primitive.Int16; return true;
            case "uint16": primitive = Primitive.UInt16; return true;
            case "int32": primitive = Primitive.Int32; return true;
            case "uint32": primitive = Primitive.UInt32; return true;
            case "int64": primitive = Primitive.Int64; return true;
            case "uint64": primitive = Primitive.UInt64; return true;
            case "float": primitive = Primitive.Float; return true;
            case "double": primitive = Primitive.Double; return true;
            default: primitive = default; return false;
        }
    }

    /// <summary>The C# type that carries the value.</summary>
    public static string CSharp(Primitive p) => p switch
    {
        Primitive.Char => "byte",
        Primitive.Int8 => "sbyte",
        Primitive.UInt8 => "byte",
        Primitive.Int16 => "short",
        Primitive.UInt16 => "ushort",
        Primitive.Int32 => "int",
        Primitive.UInt32 => "uint",
        Primitive.Int64 => "long",
        Primitive.UInt64 => "ulong",
        Primitive.Float => "float",
        _ => "double",
    };

    public static bool IsUnsigned(Primitive p) => p is Primitive.UInt8 or Primitive.UInt16 or Primitive.UInt32 or Primitive.UInt64 or Primitive.Char;

    /// <summary>SBE 1.0 default null value as a C# literal.</summary>
    public static string DefaultNull(Primitive p) => p switch
    {
        Primitive.Char => "(byte)0",
        Primitive.Int8 => "sbyte.MinValue",
        Primitive.UInt8 => "byte.MaxValue",
        Primitive.Int16 => "short.MinValue",
        Primitive.UInt16 => "ushort.MaxValue",
        Primitive.Int32 => "int.MinValue",
        Primitive.UInt32 => "uint.MaxValue",
        Primitive.Int64 => "long.MinValue",
        Primitive.UInt64 => "ulong.MaxValue",
        Primitive.Float => "float.NaN",
        _ => "double.NaN",
    };

    public static string DefaultMin(Primitive p) => p switch
    {
        Primitive.Char => "(byte)0x20",
        Primitive.Int8 => "(sbyte)-127",
        Primitive.UInt8 => "(byte)0",
        Primitive.Int16 => "(short)-32767",
        Primitive.UInt16 => "(ushort)0",
        Primitive.Int32 => "-2147483647",
        Primitive.UInt32 => "0u",
        Primitive.Int64 => "-9223372036854775807L",
        Primitive.UInt64 => "0UL",
        Primitive.Float => "-float.MaxValue",
        _ => "-double.MaxValue",
    };

    public static string DefaultMax(Primitive p) => p switch
    {
        Primitive.Char => "(byte)0x7e",
        Primitive.Int8 => "(sbyte)127",
        Primitive.UInt8 => "(byte)254",
        Primitive.Int16 => "(short)32767",
        Primitive.UInt16 => "(ushort)65534",
        Primitive.Int32 => "2147483647",
        Primitive.UInt32 => "4294967294u",
        Primitive.Int64 => "9223372036854775807L",
        Primitive.UInt64 => "18446744073709551614UL",
        Primitive.Float => "float.MaxValue",
        _ => "double.MaxValue",
    };
}
