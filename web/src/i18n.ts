// Languages: zh-CN first, English by the switch in the header. The choice is
// remembered per user in this browser (localStorage key berth.lang.<user>).
import i18n from 'i18next';
import { initReactI18next } from 'react-i18next';
import en from './locales/en';
import zhCN from './locales/zh-CN';
import { setLanguage } from './api/client';

export const languages = ['zh-CN', 'en'] as const;
export type Language = (typeof languages)[number];

const lastKey = 'berth.lang';

function stored(key: string): Language | undefined {
  const v = localStorage.getItem(key);
  return (languages as readonly string[]).includes(v ?? '') ? (v as Language) : undefined;
}

/** initialLanguage is the last language chosen in this browser, else zh-CN. */
export function initialLanguage(): Language {
  return stored(lastKey) ?? 'zh-CN';
}

/** languageOf is the language user chose last, if any. */
export function languageOf(user: string): Language | undefined {
  return stored(`${lastKey}.${user}`);
}

/** chooseLanguage switches the console and remembers the choice for user. */
export async function chooseLanguage(lang: Language, user?: string) {
  localStorage.setItem(lastKey, lang);
  if (user) localStorage.setItem(`${lastKey}.${user}`, lang);
  setLanguage(lang);
  document.documentElement.lang = lang;
  await i18n.changeLanguage(lang);
}

const lang = initialLanguage();
setLanguage(lang);
document.documentElement.lang = lang;
void i18n.use(initReactI18next).init({
  resources: { 'zh-CN': { translation: zhCN }, en: { translation: en } },
  lng: lang,
  fallbackLng: 'zh-CN',
  interpolation: { escapeValue: false },
});

export default i18n;
