using System.Buffers.Binary;
using System.Text;

namespace Pipeline.Testing.Elf;

/// <summary>The machine an ELF file was built for (e_machine).</summary>
public enum ElfMachine : ushort
{
    X86_64 = 62,
    AArch64 = 183,
}

/// <summary>
/// What the deployment tests need from an ELF file (64-bit, little-endian, as both Lambda architectures are): its
/// machine, and the symbol versions it requires from each shared library (the .gnu.version_r section), so a test can
/// say "needs GLIBC_2.38, Amazon Linux 2023 has 2.34" without binutils.
/// </summary>
public sealed class ElfInfo
{
    private const uint ShtGnuVerneed = 0x6ffffffe;

    private ElfInfo(string path, ushort machine, IReadOnlyDictionary<string, IReadOnlyList<string>> requirements)
    {
        Path = path;
        MachineCode = machine;
        Requirements = requirements;
    }

    public string Path { get; }

    /// <summary>The raw e_machine value.</summary>
    public ushort MachineCode { get; }

    public ElfMachine? Machine => Enum.IsDefined(typeof(ElfMachine), MachineCode) ? (ElfMachine)MachineCode : null;

    /// <summary>Version names required per needed library, e.g. libc.so.6 → [GLIBC_2.2.5, GLIBC_2.34].</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> Requirements { get; }

    /// <summary>True when the file starts with the ELF magic.</summary>
    public static bool IsElf(string path)
    {
        using FileStream stream = File.OpenRead(path);
        Span<byte> magic = stackalloc byte[4];
        return stream.Read(magic) == 4 && magic.SequenceEqual("\u007fELF"u8);
    }

    /// <summary>The highest GLIBC_x.y[.z] version any library requirement names; null when none does.</summary>
    public Version? MaxGlibcVersion => Requirements.Values
        .SelectMany(v => v)
        .Where(v => v.StartsWith("GLIBC_", StringComparison.Ordinal) && char.IsAsciiDigit(v.Length > 6 ? v[6] : 'x'))
        .Select(v => Version.TryParse(v["GLIBC_".Length..], out Version? parsed) ? parsed : null)
        .Where(v => v is not null)
        .Max();

    public static ElfInfo Read(string path)
    {
        byte[] data = File.ReadAllBytes(path);
        if (data.Length < 64 || !data.AsSpan(0, 4).SequenceEqual("\u007fELF"u8))
        {
            throw new InvalidDataException($"{path} is not an ELF file");
        }

        if (data[4] != 2 || data[5] != 1)
        {
            throw new InvalidDataException($"{path}: only 64-bit little-endian ELF is read (class {data[4]}, data {data[5]})");
        }

        ushort machine = U16(data, 18);
        ulong sectionOffset = U64(data, 0x28);
        ushort sectionSize = U16(data, 0x3A);
        ushort sectionCount = U16(data, 0x3C);
        var requirements = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        for (int i = 0; i < sectionCount; i++)
        {
            int header = checked((int)sectionOffset + (i * sectionSize));
            if (U32(data, header + 4) != ShtGnuVerneed)
            {
                continue;
            }

            int offset = checked((int)U64(data, header + 0x18));
            int link = (int)U32(data, header + 0x28);
            int stringsHeader = checked((int)sectionOffset + (link * sectionSize));
            int strings = checked((int)U64(data, stringsHeader + 0x18));
            for (int entry = offset; ;)
            {
                ushort auxCount = U16(data, entry + 2);
                string file = Str(data, strings + (int)U32(data, entry + 4));
                var names = new List<string>();
                for (int aux = entry + (int)U32(data, entry + 8), n = 0; n < auxCount; n++)
                {
                    names.Add(Str(data, strings + (int)U32(data, aux + 8)));
                    uint nextAux = U32(data, aux + 12);
                    if (nextAux == 0)
                    {
                        break;
                    }

                    aux += (int)nextAux;
                }

                requirements[file] = names;
                uint next = U32(data, entry + 12);
                if (next == 0)
                {
                    break;
                }

                entry += (int)next;
            }
        }

        return new ElfInfo(path, machine, requirements);
    }

    private static ushort U16(byte[] d, int at) => BinaryPrimitives.ReadUInt16LittleEndian(d.AsSpan(at));

    private static uint U32(byte[] d, int at) => BinaryPrimitives.ReadUInt32LittleEndian(d.AsSpan(at));

    private static ulong U64(byte[] d, int at) => BinaryPrimitives.ReadUInt64LittleEndian(d.AsSpan(at));

    private static string Str(byte[] d, int at)
    {
        int end = Array.IndexOf(d, (byte)0, at);
        return Encoding.ASCII.GetString(d, at, end - at);
    }
}
