import { describe, expect, it } from 'vitest';
import { formatDecimal, multiplyDecimals, normalizeDecimal, parseDecimal, sumDecimals } from './decimal.ts';
import { AppError } from './errors.ts';

describe('decimal', () => {
  it('sums exactly where floats drift', () => {
    expect(0.1 + 0.2).not.toBe(0.3);
    expect(sumDecimals(['0.1', '0.2'])).toBe('0.3');
    expect(sumDecimals(Array.from({ length: 1000 }, () => '0.001'))).toBe('1');
    expect(sumDecimals(['99999999999999999999.999999999999999999', '0.000000000000000001'])).toBe(
      '100000000000000000000',
    );
  });

  it('multiplies with half-away-from-zero rounding at 18 places', () => {
    expect(multiplyDecimals('1.5', '2')).toBe('3');
    expect(multiplyDecimals('0.000000000000000001', '0.5')).toBe('0.000000000000000001');
    expect(multiplyDecimals('-0.000000000000000001', '0.5')).toBe('-0.000000000000000001');
    expect(multiplyDecimals('3.3333', '3')).toBe('9.9999');
  });

  it('normalizes padded database output', () => {
    expect(normalizeDecimal('12.500000000000000000')).toBe('12.5');
    expect(normalizeDecimal('-0.000000000000000000')).toBe('0');
    expect(formatDecimal(parseDecimal('-7.25'))).toBe('-7.25');
  });

  it.each(['1e5', '1.', '.5', '01', 'NaN', '', ' 1', '1.0000000000000000001', '123456789012345678901'])(
    'refuses %j with INVALID_DECIMAL',
    (value) => {
      expect(() => parseDecimal(value, 'amount')).toThrow(AppError);
      try {
        parseDecimal(value, 'amount');
      } catch (error) {
        expect((error as AppError).code).toBe('INVALID_DECIMAL');
        expect((error as AppError).message).toContain('amount');
      }
    },
  );

  it('refuses numbers: a float may already have lost precision', () => {
    expect(() => parseDecimal(0.1)).toThrow(/decimal string/);
  });
});
