using Pipeline.Testing.Imaging;
using SkiaSharp;

namespace Pipeline.Cli.Tests;

/// <summary>Pictures drawn in code for the CLI tests, with their exact mattes.</summary>
internal static class Images
{
    public static (byte[] Jpeg, byte[] Matte, int Width, int Height) ShapeOnTexture(int width = 240, int height = 180, int seed = 1)
    {
        using DrawnPicture picture = DrawnPicture.ShapeOnTexture(width, height, seed, cornerRadius: 14);
        return (picture.Encode(SKEncodedImageFormat.Jpeg, 95), picture.Matte.GetPixelSpan().ToArray(), width, height);
    }

    public static byte[] GreyPng(byte[] matte, int width, int height)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Gray8, SKAlphaType.Opaque));
        matte.CopyTo(bitmap.GetPixelSpan());
        using SKData png = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return png.ToArray();
    }

    /// <summary>A real JPEG of the given size (flat colour, so it is small on disk but large in pixels).</summary>
    public static byte[] LargeJpeg(int width, int height)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        bitmap.Erase(new SKColor(90, 140, 200));
        using SKData jpeg = bitmap.Encode(SKEncodedImageFormat.Jpeg, 60);
        return jpeg.ToArray();
    }

    public static readonly byte[] PngSignature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>A PNG whose header declares <paramref name="width"/> x <paramref name="height"/> pixels, with one tiny IDAT.</summary>
    public static byte[] PngDeclaring(int width, int height)
    {
        using var ms = new MemoryStream();
        ms.Write(PngSignature);
        var ihdr = new byte[13];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 8; // bit depth
        ihdr[9] = 2; // RGB
        Chunk(ms, "IHDR", ihdr);
        Chunk(ms, "IDAT", [0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]);
        Chunk(ms, "IEND", []);
        return ms.ToArray();
    }

    private static void Chunk(Stream s, string type, byte[] data)
    {
        Span<byte> len = stackalloc byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(len, data.Length);
        s.Write(len);
        byte[] typeBytes = System.Text.Encoding.ASCII.GetBytes(type);
        s.Write(typeBytes);
        s.Write(data);
        uint crc = Crc32([.. typeBytes, .. data]);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(len, crc);
        s.Write(len);
    }

    private static uint Crc32(byte[] bytes)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in bytes)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320 : crc >> 1;
            }
        }

        return ~crc;
    }
}
