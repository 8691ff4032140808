import {
  deviceIdentifierKind,
  imeiProblem,
  isValidImei,
  luhnCheckDigit,
  withLuhnCheckDigit,
} from '../../src/domain/device-identifiers.js';

describe('device identifiers', () => {
  it('computes the Luhn check digit of published example IMEIs', () => {
    // 49015420323751-8 and 35693803564380-9 are the worked examples of the GSMA/Wikipedia IMEI pages.
    expect(luhnCheckDigit('49015420323751')).toBe(8);
    expect(luhnCheckDigit('35693803564380')).toBe(9);
    expect(withLuhnCheckDigit('49015420323751')).toBe('490154203237518');
  });

  it('says why a value is not an IMEI', () => {
    expect(imeiProblem('490154203237518')).toBeNull();
    expect(imeiProblem('490154203237517')).toBe('BAD_CHECK_DIGIT');
    expect(imeiProblem('49015420323751')).toBe('NOT_15_DIGITS');
    expect(imeiProblem('49015420323751x')).toBe('NOT_15_DIGITS');
    expect(isValidImei(' 490154203237518')).toBe(false);
  });

  it('tells IMEIs from serial numbers and rejects everything else', () => {
    expect(deviceIdentifierKind('490154203237518')).toBe('IMEI');
    expect(deviceIdentifierKind('R58N12ABCDE')).toBe('SERIAL_NUMBER');
    expect(deviceIdentifierKind('490154203237517')).toBeNull();
    expect(deviceIdentifierKind('r58n12abcde')).toBeNull();
    expect(deviceIdentifierKind('R58-N12')).toBeNull();
    expect(deviceIdentifierKind('')).toBeNull();
  });

  it('accepts exactly the check digit that makes every 14-digit payload valid', () => {
    for (const payload of ['00000000000000', '99999999999999', '35332510123456']) {
      const valid = withLuhnCheckDigit(payload);
      expect(isValidImei(valid)).toBe(true);
      const others = Array.from({ length: 10 }, (_, d) => payload + d).filter((v) => v !== valid);
      expect(others.filter(isValidImei)).toEqual([]);
    }
  });
});
