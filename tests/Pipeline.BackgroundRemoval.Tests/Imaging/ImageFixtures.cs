using System.Buffers.Binary;
using System.Text;
using SkiaSharp;

namespace Pipeline.BackgroundRemoval.Tests.Imaging;

/// <summary>Test images made in code: Skia encodes the real formats, the malformed ones are written byte by byte.</summary>
internal static class ImageFixtures
{
    public static readonly SKColor Red = new(255, 0, 0);
    public static readonly SKColor Blue = new(0, 0, 255);

    /// <summary>RGBA (unpremultiplied) bytes of a width x height picture painted by <paramref name="paint"/>.</summary>
    public static byte[] Rgba(int width, int height, Func<int, int, SKColor> paint)
    {
        var rgba = new byte[width * height * 4];
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var c = paint(x, y);
                var i = ((y * width) + x) * 4;
                (rgba[i], rgba[i + 1], rgba[i + 2], rgba[i + 3]) = (c.Red, c.Green, c.Blue, c.Alpha);
            }
        }

        return rgba;
    }

    /// <summary>40x20, blue, with a 10x10 red block in the top-left corner: every rotation or mirror moves the block.</summary>
    public static byte[] RedCornerRgba() => Rgba(40, 20, (x, y) => x < 10 && y < 10 ? Red : Blue);

    /// <summary>Random pixels, so the JPEG's entropy-coded data is large and cutting the file lands inside it.</summary>
    public static byte[] NoiseRgba(int width, int height, int seed = 1)
    {
        var rgba = new byte[width * height * 4];
        new Random(seed).NextBytes(rgba);
        for (var i = 3; i < rgba.Length; i += 4)
        {
            rgba[i] = 255;
        }

        return rgba;
    }

    public static byte[] Encode(int width, int height, byte[] rgba, SKEncodedImageFormat format, int quality = 95)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        rgba.CopyTo(bitmap.GetPixelSpan());
        using var pixmap = bitmap.PeekPixels();
        using var data = pixmap.Encode(format, quality) ?? throw new InvalidOperationException($"Skia could not encode {format}");
        return data.ToArray();
    }

    public static byte[] EncodeLosslessWebp(int width, int height, byte[] rgba)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        rgba.CopyTo(bitmap.GetPixelSpan());
        using var pixmap = bitmap.PeekPixels();
        using var data = pixmap.Encode(new SKWebpEncoderOptions(SKWebpEncoderCompression.Lossless, 100)) ?? throw new InvalidOperationException("Skia could not encode WebP");
        return data.ToArray();
    }

    /// <summary>
    /// Inserts an APP1 Exif segment right after SOI: a little-endian TIFF header with one IFD entry,
    /// Orientation (0x0112), SHORT, count 1, value <paramref name="orientation"/>.
    /// </summary>
    public static byte[] WithExifOrientation(byte[] jpeg, ushort orientation)
    {
        if (jpeg[0] != 0xFF || jpeg[1] != 0xD8)
        {
            throw new ArgumentException("not a JPEG", nameof(jpeg));
        }

        var tiff = new byte[26];
        "II"u8.CopyTo(tiff);
        BinaryPrimitives.WriteUInt16LittleEndian(tiff.AsSpan(2), 42);
        BinaryPrimitives.WriteUInt32LittleEndian(tiff.AsSpan(4), 8); // first IFD right after the header
        BinaryPrimitives.WriteUInt16LittleEndian(tiff.AsSpan(8), 1); // one entry
        BinaryPrimitives.WriteUInt16LittleEndian(tiff.AsSpan(10), 0x0112);
        BinaryPrimitives.WriteUInt16LittleEndian(tiff.AsSpan(12), 3); // SHORT
        BinaryPrimitives.WriteUInt32LittleEndian(tiff.AsSpan(14), 1);
        BinaryPrimitives.WriteUInt16LittleEndian(tiff.AsSpan(18), orientation);
        BinaryPrimitives.WriteUInt32LittleEndian(tiff.AsSpan(22), 0); // no next IFD

        var payload = "Exif\0\0"u8.ToArray().Concat(tiff).ToArray();
        var segmentLength = payload.Length + 2; // the length field counts itself
        var app1 = new byte[] { 0xFF, 0xE1, (byte)(segmentLength >> 8), (byte)segmentLength };
        return [.. jpeg[..2], .. app1, .. payload, .. jpeg[2..]];
    }

    /// <summary>
    /// A structurally valid PNG whose IHDR declares <paramref name="width"/> x <paramref name="height"/> RGBA but whose
    /// IDAT holds one byte of compressed data: only a decoder that trusts the header before decoding says "too large".
    /// </summary>
    public static byte[] HandmadePng(uint width, uint height)
    {
        var ihdr = new byte[13];
        BinaryPrimitives.WriteUInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteUInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 8; // bit depth
        ihdr[9] = 6; // RGBA
        byte[] idat = [0x78, 0x9C, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01]; // zlib of a single 0 byte

        return [.. PngSignature, .. PngChunk("IHDR", ihdr), .. PngChunk("IDAT", idat), .. PngChunk("IEND", [])];
    }

    public static byte[] PngSignature => [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    public static byte[] PngChunk(string type, byte[] data)
    {
        var typeAndData = Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
        var chunk = new byte[4 + typeAndData.Length + 4];
        BinaryPrimitives.WriteUInt32BigEndian(chunk, (uint)data.Length);
        typeAndData.CopyTo(chunk, 4);
        BinaryPrimitives.WriteUInt32BigEndian(chunk.AsSpan(4 + typeAndData.Length), Crc32(typeAndData));
        return chunk;
    }

    /// <summary>1x1 GIF89a (one red pixel); Skia can decode GIF but not encode it.</summary>
    public static byte[] HandmadeGif() =>
    [
        .. "GIF89a"u8.ToArray(),
        0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, // 1x1, global colour table of 2 entries
        0xFF, 0x00, 0x00, 0x00, 0x00, 0x00, // red, black
        0x2C, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, // image descriptor
        0x02, 0x02, 0x44, 0x01, 0x00, // LZW min code size 2, one sub-block
        0x3B, // trailer
    ];

    /// <summary>1x1 24-bit BMP with a BITMAPINFOHEADER.</summary>
    public static byte[] HandmadeBmp()
    {
        var bmp = new byte[58];
        "BM"u8.CopyTo(bmp);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(2), bmp.Length);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(10), 54); // pixel data offset
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(14), 40); // header size
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(18), 1);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(22), 1);
        BinaryPrimitives.WriteInt16LittleEndian(bmp.AsSpan(26), 1); // planes
        BinaryPrimitives.WriteInt16LittleEndian(bmp.AsSpan(28), 24); // bits per pixel
        return bmp;
    }

    /// <summary>Bytes 24..25 of a PNG: IHDR bit depth and colour type (0 gray, 2 RGB, 6 RGBA).</summary>
    public static (byte BitDepth, byte ColourType) PngFormat(byte[] png)
    {
        Assert.True(png.AsSpan().StartsWith(PngSignature), "not a PNG");
        Assert.Equal("IHDR"u8.ToArray(), png[12..16]);
        return (png[24], png[25]);
    }

    /// <summary>Reads a PNG back with Skia directly (not through the code under test), in the given layout.</summary>
    public static byte[] DecodeWithSkia(byte[] png, SKColorType colorType, SKAlphaType alphaType)
    {
        using var data = SKData.CreateCopy(png);
        using var codec = SKCodec.Create(data);
        var info = new SKImageInfo(codec.Info.Width, codec.Info.Height, colorType, alphaType);
        var pixels = new byte[info.BytesSize];
        Assert.Equal(SKCodecResult.Success, codec.GetPixels(info, pixels));
        return pixels;
    }

    private static uint Crc32(byte[] bytes)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in bytes)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? 0xEDB88320u ^ (crc >> 1) : crc >> 1;
            }
        }

        return ~crc;
    }
}
