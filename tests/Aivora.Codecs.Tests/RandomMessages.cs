using System.Collections;
using System.Reflection;

namespace Aivora.Codecs.Tests;

/// <summary>
/// Fills generated DTOs with random values through reflection, within each field's schema range
/// (read from the encoder's constants): optionals sometimes null, groups empty, small or large,
/// var data empty, short or at its maximum length. And compares two DTOs deeply.
/// </summary>
internal static class RandomMessages
{
    public static IEnumerable<Type> MessageDtos(Assembly assembly, string ns) =>
        assembly.GetTypes().Where(t => t.Namespace == ns && t.Name.EndsWith("Dto", StringComparison.Ordinal) && !t.IsNested && t.GetMethod("TryDecode") is not null);

    public static object Fill(Type dtoType, Type encoderType, Random random, int depth = 0)
    {
        var dto = Activator.CreateInstance(dtoType)!;
        foreach (var property in dtoType.GetProperties())
        {
            property.SetValue(dto, Value(property, encoderType, random, depth));
        }

        return dto;
    }

    private static long Constant(Type encoderType, string name) => Convert.ToInt64(encoderType.GetField(name)!.GetValue(null), System.Globalization.CultureInfo.InvariantCulture);

    private static object? Value(PropertyInfo property, Type encoderType, Random random, int depth)
    {
        var type = property.PropertyType;
        var name = property.Name;
        var nullable = Nullable.GetUnderlyingType(type);
        if (nullable is not null)
        {
            return random.Next(4) == 0 ? null : Scalar(nullable, encoderType, name, random);
        }

        if (type.IsEnum)
        {
            var values = Enum.GetValues(type).Cast<object>().Where(v => v.ToString() is not ("NullValue" or "None")).ToArray();
            if (type.IsDefined(typeof(FlagsAttribute)))
            {
                var bits = values.Select(v => Convert.ToUInt64(v, System.Globalization.CultureInfo.InvariantCulture)).Where(_ => random.Next(2) == 0).Aggregate(0UL, (a, b) => a | b);
                return Enum.ToObject(type, bits);
            }

            return values[random.Next(values.Length)];
        }

        if (type == typeof(string))
        {
            var length = random.Next((int)Constant(encoderType, name + "Length") + 1);
            return new string(Enumerable.Range(0, length).Select(_ => (char)random.Next('A', 'Z' + 1)).ToArray());
        }

        if (type == typeof(byte[]) && encoderType.GetField(name + "MaxLength") is not null)
        {
            var max = (int)Constant(encoderType, name + "MaxLength");
            var bytes = new byte[random.Next(5) switch { 0 => 0, 1 => max, _ => random.Next(1, 40) }];
            random.NextBytes(bytes);
            return bytes;
        }

        if (type.IsArray)
        {
            var element = type.GetElementType()!;
            var array = Array.CreateInstance(element, (int)Constant(encoderType, name + "Length"));
            for (var i = 0; i < array.Length; i++)
            {
                array.SetValue(Convert.ChangeType(random.Next(0, 100), element, System.Globalization.CultureInfo.InvariantCulture), i);
            }

            return array;
        }

        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(List<>))
        {
            var itemType = type.GetGenericArguments()[0];
            var groupEncoder = encoderType.GetNestedType(name + "GroupEncoder")!;
            var list = (IList)Activator.CreateInstance(type)!;
            var count = random.Next(6) switch { 0 => 0, 1 => depth == 0 ? 300 : 3, _ => random.Next(1, 5) };
            for (var i = 0; i < count; i++)
            {
                list.Add(Fill(itemType, groupEncoder, random, depth + 1));
            }

            return list;
        }

        if (type.Name.EndsWith("Dto", StringComparison.Ordinal))
        {
            var compositeEncoder = type.Assembly.GetType(type.FullName![..^3] + "Encoder")!;
            return Fill(type, compositeEncoder, random, depth + 1);
        }

        return Scalar(type, encoderType, name, random);
    }

    private static object Scalar(Type type, Type encoderType, string name, Random random)
    {
        if (type == typeof(float))
        {
            return (float)(random.NextDouble() * 1e6);
        }

        if (type == typeof(double))
        {
            return random.NextDouble() * 1e12;
        }

        // Within [min, max] of the schema: never the null value by accident.
        var min = encoderType.GetField(name + "MinValue")!.GetValue(null)!;
        var max = encoderType.GetField(name + "MaxValue")!.GetValue(null)!;
        var lo = Convert.ToDecimal(min, System.Globalization.CultureInfo.InvariantCulture);
        var hi = Convert.ToDecimal(max, System.Globalization.CultureInfo.InvariantCulture);
        var pick = random.Next(4) switch
        {
            0 => lo,
            1 => hi,
            _ => lo + Math.Floor((hi - lo) * (decimal)random.NextDouble()),
        };
        return Convert.ChangeType(pick, type, System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Null when equal, else the path of the first difference.</summary>
    public static string? Difference(object? a, object? b, string path = "")
    {
        if (a is null || b is null)
        {
            return a is null && b is null ? null : path;
        }

        var type = a.GetType();
        if (type.IsPrimitive || type.IsEnum || a is string || a is decimal)
        {
            return a.Equals(b) ? null : $"{path}: {a} != {b}";
        }

        if (a is byte[] x && b is byte[] y)
        {
            return x.AsSpan().SequenceEqual(y) ? null : $"{path}: bytes differ";
        }

        if (a is IList la && b is IList lb)
        {
            if (la.Count != lb.Count)
            {
                return $"{path}: {la.Count} items != {lb.Count}";
            }

            for (var i = 0; i < la.Count; i++)
            {
                var d = Difference(la[i], lb[i], $"{path}[{i}]");
                if (d is not null)
                {
                    return d;
                }
            }

            return null;
        }

        foreach (var property in type.GetProperties())
        {
            var d = Difference(property.GetValue(a), property.GetValue(b), $"{path}.{property.Name}");
            if (d is not null)
            {
                return d;
            }
        }

        return null;
    }
}
